// app_cookie's response side (ALB's application-based stickiness): the companion cookie that follows the
// application's own. It is written on the response, where the application's Set-Cookie is seen:
//   - the target sets the application cookie: a companion naming that target, bound to the new value, living
//     as long as the application's cookie (its Max-Age or Expires; a session cookie stays one; a deletion deletes);
//   - the client has an application session but no companion naming the target that answered (first request
//     after a deploy, or it moved), or one past half its duration: a companion bound to the value the client
//     sent, for the session.
// The application's own Set-Cookie fields pass untouched, each its own field.
import type { PluginRequest, PluginResponse } from '../../core/plugin-api.ts'
import { parseSetCookie, readCookie } from '../../core/plugin-runtime.ts'
import { cookieField, type StickyGroup } from './sticky-group.ts'

export function writeCompanion (g: StickyGroup, req: PluginRequest, res: PluginResponse, now: number): void {
  const target = req.target
  if (target === null) return
  const token = g.tokens(target.endpoint.id)[0]!
  const secure = req.protocol === 'https'
  const fields = res.headerValues('set-cookie')
  for (let i = fields.length - 1; i >= 0; i--) {
    // The last one the user agent applies wins (RFC 6265 §5.3): read from the end.
    const c = parseSetCookie(fields[i]!)
    if (c === null || c.name !== g.appCookieName) continue
    const gone = c.value === '' || c.maxAge === 0 || (c.expires !== undefined && c.expires.getTime() <= now)
    if (gone) return res.appendHeader('set-cookie', cookieField(g.cookieName, '', 0, secure))
    const value = g.codec.issue(token, now, c.value)
    return res.appendHeader('set-cookie', cookieField(g.cookieName, value, c.maxAge, secure, c.maxAge === undefined ? c.expires : undefined))
  }
  const cookies = req.header('cookie')
  const app = readCookie(cookies, g.appCookieName)
  if (app === undefined || app === '') return
  const companion = readCookie(cookies, g.cookieName)
  const v = companion === undefined ? null : g.codec.decode(companion, app)
  // It already names this target, signed with the signing key, and has more than half its life left; past half,
  // it is re-signed as lb_cookie's is, so an active session does not lose its target at the duration.
  if (v !== null && v.key === 0 && v.token === token && v.expiresAt - now >= g.durationMs / 2) return
  res.appendHeader('set-cookie', cookieField(g.cookieName, g.codec.issue(token, now, app), undefined, secure))
}
