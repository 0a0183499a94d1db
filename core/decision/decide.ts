// The decision stage: what happens to a request between its head and its target, in one place that the shard's
// exchange and the SDK harness both run.
//
//   onRequest (listener plugins, in order) ── a Reply ───────────────────────────────────────► sink.reply
//        │ no opinion
//   rules (first match from `at`; plugin conditions) ── fixed-response / redirect ───────────► sink.reply
//        ├─ forward: group choice (wrapped) ─────┐
//        └─ plugin action: route ── a Reply ─────┼──────────────────────────────────────────► sink.reply
//              │ no opinion: the next rule       │ a target group
//              ▼                                 ▼
//           rules from at + 1           group ─ select (wrapped) ─ onForward (listener, then group) ─► sink.forward
//   a hook that fails closed, no group, no eligible target, no route ───────────────────────► sink.fail
//   an attempt on the target failed (exchange) ─ attemptFailed ─ redispatch: another target ─ onForward ─► sink.forward
//
// A hook that answers with a promise parks the decision (sink.park: the exchange holds the client's body back)
// until it settles or its plugin's hookTimeoutSeconds is up; the decision then goes on where it stood
// (req.stage, req.at). Every hook runs through its plugin's containment (plugin/instance.ts), which answers
// SKIP or FAIL for a failed hook. respond() is the response side: onResponse hooks on the target's head.
//
// ended() and attemptFailed() are the request's end and each failed attempt, for the onRequestEnd and
// onTargetFailure hooks (passive health checks). A stage the built-ins add goes here, once, and both callers run it.
// The request path allocates nothing here beyond what a hook's answer needs: functions, not closures, except
// for the rare parked hook.
import { Outcome, type Target } from '../pipeline.ts'
import type { Reply, TargetFailure } from '../plugin-api.ts'
import type { GroupRuntime } from '../runtime.ts'
import type { ResponseHead } from '../http1/response-head.ts'
import { pluginReplyHead, redirectHead } from '../forwarder/local-reply.ts'
import { pushField, ResponseEdit } from '../plugin/headers.ts'
import { chooseGroup, closedBy, FAIL, isThenable, matchRule, runOnForward, runOnResponse, select, SKIP, type HookName, type PluginInstance } from '../plugin/instance.ts'
import { Stage, type EngineRequest } from './request.ts'

/** Where a decision reports. The exchange writes to the wire; the harness records for its tests. */
export interface DecisionSink {
  /** Answer without a target: a status line and fields (the connection field and blank line follow), a body. */
  reply (status: number, head: string, body: Buffer | null): void
  /** Send the request to `target` of `group` (req.target and req.group are set, onForward has run). */
  forward (group: GroupRuntime, target: Target): void
  /** Answer with an error status, for the access log's outcome and reason. */
  fail (status: number, outcome: Outcome, reason: string): void
  /** A hook answered with a promise: the decision waits; hold the request's body back meanwhile. */
  park (): void
  /** The wait is over and the decision goes on now (it may end, or park again on a later hook). */
  unpark (): void
  /** The request is over already (its client went away): a hook that settles late decides nothing. */
  readonly finished: boolean
}

export const R_NO_ROUTE = 'no-route'
export const R_NO_GROUP = 'no-target-group'
export const R_NO_TARGET = 'no-eligible-target'

const STAGE_HOOK: readonly HookName[] = ['onRequest', 'route']

/** Decides what becomes of `req`, reporting to `sink` once (maybe after a parked hook settles). */
export function decide (req: EngineRequest, sink: DecisionSink): void {
  onRequest(req, sink, 0)
}

/** The reason a request failed closed: the plugin of the FAIL just returned. */
export function failClosed (sink: DecisionSink): void {
  sink.fail(500, Outcome.HookFailed, `plugin-failed:${closedBy()}`)
}

/** The listener plugins' onRequest hooks from position `from` on, then the rules. */
function onRequest (req: EngineRequest, sink: DecisionSink, from: number): void {
  const plugins = req.listener.onRequest
  for (let i = from; i < plugins.length; i++) {
    const p = plugins[i]!
    const r = p.call('onRequest', p.hooks.onRequest!, p.hooks, req)
    if (r === undefined || r === SKIP) continue
    if (r === FAIL) return failClosed(sink)
    req.parkAt(Stage.OnRequest, i, p)
    if (isThenable(r)) return wait(req, sink, r)
    return answer(req, sink, r)
  }
  route(req, sink, 0)
}

/** The first matching rule from position `from` on; a plugin action may pass the request on to the next. */
function route (req: EngineRequest, sink: DecisionSink, from: number): void {
  const rule = matchRule(req.listener.rules, req, from)
  if (rule === FAIL) return failClosed(sink)
  if (rule === null) return sink.fail(404, Outcome.NoRoute, R_NO_ROUTE)
  req.ruleName = rule.name
  const action = rule.action
  switch (action.type) {
    case 'forward': {
      const name = chooseGroup(action.choice, req)
      return name === FAIL ? failClosed(sink) : forwardTo(req, sink, name)
    }
    case 'fixed-response': return sink.reply(action.statusCode, action.head, action.body)
    case 'redirect': return sink.reply(action.statusCode, redirectHead(action.statusCode, action.location(req)), null)
  }
  const p = action.plugin
  req.parkAt(Stage.Route, rule.index, p)
  const r = p.call('route', p.hooks.route!, p.hooks, req)
  if (r === FAIL) return failClosed(sink)
  if (isThenable(r)) return wait(req, sink, r)
  answer(req, sink, r === SKIP ? undefined : r)
}

/** A hook's answer, in the stage it was parked in (undefined: no opinion). */
function answer (req: EngineRequest, sink: DecisionSink, v: unknown): void {
  if (v === undefined || v === null) return next(req, sink)
  const group = req.stage === Stage.Route ? (v as { targetGroup?: unknown }).targetGroup : undefined
  if (typeof group === 'string') {
    req.answer = v
    return forwardTo(req, sink, group)
  }
  const reply = pluginReplyHead(v as Reply)
  // An answer the engine cannot send is the hook's failure.
  if (reply instanceof Error) return failed(req, sink, reply)
  req.answer = v
  if (req.stage === Stage.OnRequest) req.ruleName = `plugin:${req.plugin!.name}`
  sink.reply(reply.status, reply.head, reply.body)
}

/** The parked hook had no opinion: the next onRequest hook, or the next rule. */
function next (req: EngineRequest, sink: DecisionSink): void {
  if (req.stage === Stage.OnRequest) return onRequest(req, sink, req.at + 1)
  // A plugin default action without an answer leaves the request without a route.
  if (req.at >= req.listener.rules.rules.length) return sink.fail(404, Outcome.NoRoute, R_NO_ROUTE)
  route(req, sink, req.at + 1)
}

/** The parked hook failed after its call (its promise rejected, its time ran out, its answer was invalid). */
function failed (req: EngineRequest, sink: DecisionSink, err: unknown): void {
  if (req.plugin!.verdict(STAGE_HOOK[req.stage]!, err) === FAIL) return failClosed(sink)
  next(req, sink)
}

/** Parks the decision until the hook's promise settles or its time is up. */
function wait (req: EngineRequest, sink: DecisionSink, promise: PromiseLike<unknown>): void {
  sink.park()
  const ms = req.plugin!.timeoutMs
  let settled = false
  const settle = (): boolean => {
    if (settled) return false
    settled = true
    clearTimeout(timer)
    if (sink.finished) return false
    sink.unpark()
    return true
  }
  const timer = setTimeout(() => { if (settle()) failed(req, sink, new Error(`timed out after ${ms} ms`)) }, ms)
  promise.then((v) => { if (settle()) answer(req, sink, v) }, (err: unknown) => { if (settle()) failed(req, sink, err) })
}

function forwardTo (req: EngineRequest, sink: DecisionSink, name: string): void {
  req.groupName = name
  const group = req.listener.groups.get(name)
  if (group === undefined) return sink.fail(503, Outcome.NoTarget, R_NO_GROUP)
  req.markSelection()
  const target = select(group.selector, req, group.group)
  if (target === FAIL) return failClosed(sink)
  if (target === null) return sink.fail(503, Outcome.NoTarget, R_NO_TARGET)
  forwardToTarget(req, sink, group, target)
}

/** The chosen target: the listener's, then the group's onForward hooks, then off it goes. */
function forwardToTarget (req: EngineRequest, sink: DecisionSink, group: GroupRuntime, target: Target): void {
  req.target = target
  req.group = group
  req.targetId = target.endpoint.id
  if (runOnForward(req.listener.onForward, req, target) === FAIL || runOnForward(group.onForward, req, target) === FAIL) {
    return failClosed(sink)
  }
  sink.forward(group, target)
}

/**
 * How many times a redispatch asks the group's selector for a target it has not tried, before walking the
 * group's list (Envoy's `previous_hosts` retry predicate with `host_selection_retry_max_attempts`).
 */
const RESELECT_TRIES = 3

/**
 * Sends `req`, whose attempts on the targets in `tried` failed, to another eligible target of its group
 * (HAProxy's `option redispatch`); onForward hooks run again for it. False when the group has none: the caller
 * fails the request with the failure it had.
 */
export function redispatch (req: EngineRequest, sink: DecisionSink, tried: readonly Target[]): boolean {
  const group = req.group!
  req.tried = tried
  const target = reselect(req, group, tried)
  if (target === null) return false
  req.retries++
  if (target === FAIL) failClosed(sink)
  else forwardToTarget(req, sink, group, target)
  return true
}

/** A target of the group not in `tried`: the selector's answer if it gives one, else the next in list order. */
function reselect (req: EngineRequest, group: GroupRuntime, tried: readonly Target[]): Target | null | typeof FAIL {
  for (let i = 0; i < RESELECT_TRIES; i++) {
    req.dropSelection()
    const t = select(group.selector, req, group.group)
    if (t === FAIL || t === null) return t
    if (!isTried(t, tried)) return t
  }
  // The selector keeps answering a target tried already (a consistent hash, a sticky session): the next
  // eligible one after the last tried, in the group's order, so a hashed key's redispatches spread predictably.
  // What the selector added for the target it answered goes with it.
  req.dropSelection()
  const targets = group.group.targets
  const n = targets.length
  const last = tried[tried.length - 1]!.endpoint.id
  let at = -1
  for (let i = 0; i < n; i++) if (targets[i]!.endpoint.id === last) at = i
  for (let k = 1; k <= n; k++) {
    const t = targets[(at + k) % n]!
    if (t.eligible && !isTried(t, tried)) return t
  }
  return null
}

/** By endpoint id: a selector wrapper may answer with target objects of its own making. */
function isTried (t: Target, tried: readonly Target[]): boolean {
  for (let i = 0; i < tried.length; i++) if (tried[i]!.endpoint.id === t.endpoint.id) return true
  return false
}

/**
 * The target's response head, before the client sees it: the fields hooks added for it (addResponseHeader), then
 * the listener's, then the group's onResponse hooks edit it. FAIL when one failed closed (the caller answers 500
 * if it can: failClosed).
 */
export function respond (req: EngineRequest, res: ResponseHead): typeof FAIL | undefined {
  addedFields(req, res)
  const lp = req.listener.onResponse
  const gp = req.group!.onResponse
  if (lp.length + gp.length === 0) return undefined
  const edit = new ResponseEdit(res)
  return runOnResponse(lp, req, edit) ?? runOnResponse(gp, req, edit)
}

/**
 * The fields hooks added for the target's response (addResponseHeader), on its head: also on a 101, which
 * onResponse hooks do not see, so a WebSocket's upgrade carries its sticky cookie.
 */
export function addedFields (req: EngineRequest, res: ResponseHead): void {
  const fields = req.responseFields
  if (fields !== null) for (let i = 0; i < fields.length; i += 3) pushField(res, fields[i]!, fields[i + 1]!, fields[i + 2]!)
}

/**
 * One attempt of `req` on `target` failed; called for every failed attempt, those then retried or redispatched
 * included, so a passive health check sees every failure a client did not: the group's onTargetFailure hooks
 * hear of it. Their failures are counted; they decide nothing.
 */
export function attemptFailed (req: EngineRequest, target: Target, failure: TargetFailure): void {
  const plugins = req.group?.onTargetFailure
  if (plugins === undefined) return
  for (let i = 0; i < plugins.length; i++) {
    const p = plugins[i]!
    p.sync('onTargetFailure', p.hooks.onTargetFailure!, p.hooks, req, target, failure)
  }
}

/** The request has ended (req.end() has run): the group's, then the listener's onRequestEnd hooks. */
export function ended (req: EngineRequest): void {
  const gp = req.group?.onRequestEnd
  if (gp !== undefined && gp.length > 0) runOnRequestEnd(gp, req)
  const lp = req.listener.onRequestEnd
  if (lp.length > 0) runOnRequestEnd(lp, req)
}

function runOnRequestEnd (plugins: readonly PluginInstance[], req: EngineRequest): void {
  for (let i = 0; i < plugins.length; i++) {
    const p = plugins[i]!
    p.sync('onRequestEnd', p.hooks.onRequestEnd!, p.hooks, req, undefined)
  }
}
