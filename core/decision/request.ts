// One request as everything above the wire sees it: rules, selectors and plugin hooks (PluginRequest), the
// decision stage (where a parked hook resumes), and the access log and metrics when it ends (FinishedRequest).
//
// Built by whichever engine parsed the request (the HTTP/1.1 exchange, the plugin harness from test input), so
// none of them sees the engine's own objects. Fixed shape: every field is assigned here (STYLE 5).
import { performance } from 'node:perf_hooks'
import type { RequestHead } from '../http1/request-head.ts'
import { fieldValue } from '../http1/fields.ts'
import { Outcome, type Target } from '../pipeline.ts'
import type { ConnectionInfo, PluginRequest } from '../plugin-api.ts'
import type { FinishedRequest, GroupRuntime, ListenerRuntime } from '../runtime.ts'
import type { PluginInstance } from '../plugin/instance.ts'
import { checked, removeField, setField } from '../plugin/headers.ts'

const NONE: readonly Target[] = Object.freeze([])

/** Which stage a parked decision resumes in (decide.ts). */
export const Stage = { OnRequest: 0, Route: 1 } as const
export type Stage = (typeof Stage)[keyof typeof Stage]

export class EngineRequest implements PluginRequest, FinishedRequest {
  readonly listener: ListenerRuntime
  /** As parsed; hooks edit its fields (setHeader), and the target side writes it out. */
  readonly head: RequestHead
  readonly method: string
  readonly path: string
  readonly query: string
  readonly host: string
  readonly clientIp: string
  readonly clientPort: number
  readonly connection: ConnectionInfo | null
  readonly protocol: string
  readonly listenerPort: number
  readonly startedAt: number
  readonly t0: number
  durationMs = 0

  // what was decided, and how it went: the access-log record
  ruleName = ''
  groupName = ''
  targetId = ''
  /** Status sent to the client; 0 while none has been (and when the client went away first). */
  status = 0
  outcome: Outcome = Outcome.Ok
  reason = ''
  /** Attempts after the first (decision/decide.ts redispatch, forwarder/exchange.ts retries); targetId is the last one's. */
  retries = 0
  requestBytes = 0
  responseBytes = 0
  target: Target | null = null
  group: GroupRuntime | null = null
  /** On a redispatch, the targets whose attempts failed (decide.ts redispatch); none before. */
  tried: readonly Target[] = NONE
  /**
   * Fields for the target's response (addResponseHeader), as lower-case name, name, value triples; null until
   * the first. Those from `#selectionStart` on were added while selecting the target (dropSelection).
   */
  responseFields: string[] | null = null
  #selectionStart = 0

  // the decision stage's place: which hook of which stage answered (or is awaited), and its answer
  stage: Stage = Stage.OnRequest
  at = 0
  plugin: PluginInstance | null = null
  /** The answer the decision acted on (a Reply or Route), for the harness to report. */
  answer: unknown = undefined
  #locals: Record<string, unknown> | null = null

  constructor (listener: ListenerRuntime, head: RequestHead, clientIp: string, clientPort: number, connection: ConnectionInfo | null = null) {
    this.listener = listener
    this.head = head
    this.method = head.method
    this.path = head.path
    this.query = head.query
    this.host = head.authority
    this.clientIp = clientIp
    this.clientPort = clientPort
    this.connection = connection
    this.protocol = listener.settings.protocol
    this.listenerPort = listener.settings.listenerPort
    this.startedAt = Date.now()
    this.t0 = performance.now()
  }

  get userAgent (): string | undefined { return this.header('user-agent') }
  header (name: string): string | undefined { return fieldValue(this.head, name) }
  get locals (): Record<string, unknown> { return this.#locals ??= {} }
  setHeader (name: string, value: string): void { setField(this.head, name, value) }
  removeHeader (name: string): void { removeField(this.head, name) }

  addResponseHeader (name: string, value: string): void {
    const lower = checked(name, value);
    (this.responseFields ??= []).push(lower, name, value)
  }

  /** Target selection begins: fields added from here on belong to the target it picks. */
  markSelection (): void {
    this.#selectionStart = this.responseFields === null ? 0 : this.responseFields.length
  }

  /** The core selects again (a redispatch): the fields the last selection added go with its choice. */
  dropSelection (): void {
    if (this.responseFields !== null) this.responseFields.length = this.#selectionStart
  }

  /** The decision waits on (or acted on) this plugin's hook at position `at` of `stage`. */
  parkAt (stage: Stage, at: number, plugin: PluginInstance): void {
    this.stage = stage
    this.at = at
    this.plugin = plugin
  }

  /** The request has ended: how long it took, for the record. */
  end (): void {
    this.durationMs = performance.now() - this.t0
  }
}
