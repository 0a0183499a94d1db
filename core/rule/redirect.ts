// ALB redirect templates: each URI component may reuse the request's through #{protocol}, #{host}, #{port},
// #{path} and #{query} [S2]. Compiled once into literal/keyword pieces; a request only concatenates.
//
// ALB's meanings, kept exactly: #{path} is the path without its leading "/" (the path field starts with "/",
// so the default "/#{path}" rebuilds it); #{query} has no "?"; #{host} is the Host value without its port;
// #{port} is the listener's port. The port is left out of Location when it is the protocol's default.
import type { RequestCtx } from '../pipeline.ts'
import type { RedirectActionConfig } from '../../schemas/sidecar.schema.ts'
import { hostEnd } from './conditions.ts'

const Keyword = { protocol: 0, host: 1, port: 2, path: 3, query: 4 } as const
type Keyword = (typeof Keyword)[keyof typeof Keyword]

/** A template as parallel arrays: pieces[i] is literal text when keywords[i] is -1, else unused. */
class Template {
  readonly #pieces: string[] = []
  readonly #keywords: Array<Keyword | -1> = []

  constructor (text: string) {
    const re = /#\{(protocol|host|port|path|query)\}/g
    let last = 0
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      if (m.index > last) this.#push(text.slice(last, m.index), -1)
      this.#push('', Keyword[m[1] as keyof typeof Keyword])
      last = m.index + m[0].length
    }
    if (last < text.length) this.#push(text.slice(last), -1)
  }

  #push (piece: string, keyword: Keyword | -1): void {
    this.#pieces.push(piece)
    this.#keywords.push(keyword)
  }

  render (ctx: RequestCtx): string {
    let out = ''
    for (let i = 0; i < this.#keywords.length; i++) {
      const k = this.#keywords[i]!
      out += k === -1 ? this.#pieces[i]! : keywordValue(ctx, k)
    }
    return out
  }
}

function keywordValue (ctx: RequestCtx, k: Keyword): string {
  switch (k) {
    case Keyword.protocol: return ctx.protocol
    case Keyword.host: return ctx.host.slice(0, hostEnd(ctx.host))
    case Keyword.port: return String(ctx.listenerPort)
    case Keyword.path: return ctx.path.charCodeAt(0) === 47 ? ctx.path.slice(1) : ctx.path
    case Keyword.query: return ctx.query
  }
}

function isDefaultPort (protocol: string, port: string): boolean {
  return (protocol === 'http' && port === '80') || (protocol === 'https' && port === '443')
}

/** Builds the Location of one redirect action. */
export class RedirectTemplate {
  /** Lower-case "http"/"https", or null to reuse the request's protocol. */
  readonly #protocol: string | null
  readonly #host: Template
  readonly #port: Template
  readonly #path: Template
  readonly #query: Template

  constructor (config: RedirectActionConfig) {
    const p = config.protocol.toLowerCase()
    this.#protocol = p === '#{protocol}' ? null : p
    this.#host = new Template(config.host)
    this.#port = new Template(String(config.port))
    this.#path = new Template(config.path)
    this.#query = new Template(config.query)
  }

  location (ctx: RequestCtx): string {
    const protocol = this.#protocol ?? ctx.protocol
    const port = this.#port.render(ctx)
    const query = this.#query.render(ctx)
    return protocol + '://' + this.#host.render(ctx) +
      (isDefaultPort(protocol, port) ? '' : ':' + port) +
      this.#path.render(ctx) +
      (query === '' ? '' : '?' + query)
  }
}
