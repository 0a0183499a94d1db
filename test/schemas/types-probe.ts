import type { SidecarConfig, ActionConfig, ListenerConfig } from '../../schemas/sidecar.schema.ts'
declare const c: SidecarConfig
const a: ActionConfig = c.listeners[0]!.defaultAction
if (a.type === 'redirect') { const p: string | number = a.port; const s: 301|302|307|308 = a.statusCode; void p; void s }
if (a.type === 'forward') { const w: number = a.targetGroups[0]!.weight; void w }
const l: ListenerConfig = c.listeners[0]!
const h = c.targetGroups[0]!.hashOn
const n: number = l.idleTimeoutSeconds; void n
const adm: string = c.admin.host; void adm
type X = typeof h
const r = l.rules[0]!; const hv: string[] | undefined = r.conditions.headers?.['x']
export type { X }; void hv
