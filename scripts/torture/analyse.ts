/**
 * Turns what a torture run recorded (phase windows, answers, acknowledged ids) and what the
 * database holds into the per-phase figures and the verdict on each target.
 */
import { maxOf, percentile } from "../bench/stats.js";
import type { Crash } from "./cluster.js";
import type { Sql } from "./faults.js";
import { type Answer, type Ack, type FlowAck, HANG_MS } from "./load.js";
import { createToStart, type Firings, firings, lastFinished, lost, type TableStat, verdict } from "./measure.js";
import { type FlowFigures, type FlowTask, flowFigures } from "./workflows.js";

export interface Window {
  name: string;
  fault: string;
  start: number;
  /** when the fault was over (the recovery period starts) */
  faultEnd: number;
  end: number;
  events: number[];
  notes: string[];
  recoveryTargetS?: number;
  /** tasks not terminal when the fault began: they count in this phase's verdict too */
  inFlight: number[];
  /** instances that exited on their own during the phase (the run restarted each) */
  crashes: Crash[];
  /** URL of the instance the fault killed (its requests in flight then got no answer) */
  killed?: string;
  stats: { start: TableStat[]; faultEnd: TableStat[]; end: TableStat[] };
  /** in flight at the start or acknowledged until 10 s after the fault, not terminal at the check */
  stuck: number;
  /** seconds after faultEnd the stuck check ran */
  stuckAfterS: number;
}

export interface Spread {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

export interface PhaseResult {
  w: Window;
  created: number;
  /** seconds from the start of the fault until the last task in flight then was terminal */
  inFlightDoneS: number | null;
  /** seconds from the end of the fault until the last task acknowledged in the phase was terminal */
  drainedS: number | null;
  completed: number;
  failed: number;
  lost: number;
  lostIds: number[];
  duplicated: number;
  recoveryS: number | null;
  /** mean completions per second during the fault, as a share of the baseline */
  duringShare: number;
  startLatency: { during: Spread; after: Spread };
  http: { during: Spread; after: Spread };
  /** non-2xx answers and unanswered requests by kind, during and after */
  kinds: { during: Record<string, number>; after: Record<string, number> };
  /** answers that are neither 2xx nor a problem+json 503/429, or that took longer than 10 s */
  badAnswers: number;
  firings: Firings;
  /** the running workflow: created, completed, and the invariant-10 checks (scripts/torture/workflows.ts) */
  flows: FlowFigures;
}

/** What the workflow figures are read from: the load's workflows, their rows, the stuck samples. */
export interface FlowContext {
  flows: FlowAck[];
  tasks: Map<number, FlowTask>;
  stuckSeen: Set<number>;
}

export interface Schedule {
  id: number;
  anchorMs: number;
  everyMs: number;
}

export function spread(xs: number[]): Spread {
  return { n: xs.length, p50: percentile(xs, 50), p99: percentile(xs, 99), max: maxOf(xs) };
}

/** Mean per-second completions over the whole seconds in [from, to). */
export function meanRate(series: Map<number, number>, from: number, to: number): number {
  const a = Math.ceil(from / 1000);
  const b = Math.floor(to / 1000);
  if (b <= a) return Number.NaN;
  let sum = 0;
  for (let s = a; s < b; s++) sum += series.get(s) ?? 0;
  return sum / (b - a);
}

/**
 * Seconds from an event until throughput is back to 90 % of the baseline: the first whole second
 * from which the mean of three seconds reaches it. null if it never does before `until`.
 */
export function recoverySeconds(series: Map<number, number>, baseline: number, event: number, until: number): number | null {
  for (let s = Math.ceil(event / 1000); s + 3 <= Math.floor(until / 1000); s++) {
    const mean = ((series.get(s) ?? 0) + (series.get(s + 1) ?? 0) + (series.get(s + 2) ?? 0)) / 3;
    if (mean >= 0.9 * baseline) return Math.max(0, s - event / 1000);
  }
  return null;
}

const inWindow = <T extends { t: number }>(xs: T[], from: number, to: number) => xs.filter((x) => x.t >= from && x.t < to);

function kindsOf(answers: Answer[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of answers) if (a.kind) out[a.kind] = (out[a.kind] ?? 0) + 1;
  return out;
}

/**
 * An answer the issue allows: 2xx, or a problem+json 503 / 429, and never later than 10 s. A
 * request that was in flight to an instance when the run SIGKILLed it has its connection cut
 * (no answer, at once): that is the fault itself, not an answer baton gave.
 */
export const acceptable = (a: Answer, killed?: string): boolean =>
  a.ms < HANG_MS &&
  ((a.status >= 200 && a.status < 300) || /^(503|429) problem\+json/.test(a.kind ?? "") || (a.status === 0 && a.base === killed));

/** The figures of one phase, read once the run has drained. */
export async function analysePhase(
  sql: Sql,
  w: Window,
  ctx: { answers: Answer[]; acks: Ack[]; series: Map<number, number>; baseline: number; schedule: Schedule; flows: FlowContext },
): Promise<PhaseResult> {
  const ids = inWindow(ctx.acks, w.start, w.end).map((a) => a.id);
  const v = await verdict(sql, [...new Set([...w.inFlight, ...ids])]);
  const last = w.inFlight.length ? await lastFinished(sql, w.inFlight) : null;
  const lastOfPhase = ids.length ? await lastFinished(sql, ids) : null;
  const lostIds = lost(v);
  const recoveries = w.events.map((e) => recoverySeconds(ctx.series, ctx.baseline, e, w.end));
  const during = inWindow(ctx.answers, w.start, w.faultEnd);
  const after = inWindow(ctx.answers, w.faultEnd, w.end);
  return {
    w,
    created: ids.length,
    inFlightDoneS: last === null ? null : Math.max(0, (last - w.start) / 1000),
    drainedS: lastOfPhase === null ? null : (lastOfPhase - w.faultEnd) / 1000,
    completed: v.completed,
    failed: v.failed,
    lost: lostIds.length,
    lostIds: lostIds.slice(0, 20),
    duplicated: v.duplicated.length,
    recoveryS: recoveries.some((r) => r === null) ? null : maxOf(recoveries as number[]),
    duringShare: meanRate(ctx.series, w.start, w.faultEnd) / ctx.baseline,
    startLatency: {
      during: spread(await createToStart(sql, w.start, w.faultEnd)),
      after: spread(await createToStart(sql, w.faultEnd, w.end)),
    },
    http: { during: spread(during.map((a) => a.ms)), after: spread(after.map((a) => a.ms)) },
    kinds: { during: kindsOf(during), after: kindsOf(after) },
    badAnswers: [...during, ...after].filter((a) => !acceptable(a, w.killed)).length,
    firings: await firings(sql, ctx.schedule.id, ctx.schedule.anchorMs, ctx.schedule.everyMs, w.start, w.end),
    flows: flowFigures(ctx.flows.flows, ctx.flows.tasks, ctx.flows.stuckSeen, w.start, w.end, new Set(w.inFlight)),
  };
}

export interface SoakSample {
  t: number;
  rss: number[];
  /** V8 heap in use, committed, and external memory (Buffers), per instance */
  heap: number[];
  /** V8 heap in use after full collections (read once a minute; NaN in the other samples) */
  live: number[];
  /** how long each of those readings took (the instance is paused for its collections) */
  liveMs: number[];
  /** V8's committed young generation at those readings */
  young: number[];
  heapTotal: number[];
  external: number[];
  connections: number;
  rows: Record<string, number>;
  created: number;
}

/** Least-squares slope of ys over ts (epoch ms), per minute. */
export function slopePerMinute(ts: number[], ys: number[]): number {
  const pts = ts.map((t, i) => [t / 60_000, ys[i]] as const).filter(([, y]) => Number.isFinite(y));
  if (pts.length < 2) return Number.NaN;
  const mx = pts.reduce((s, [x]) => s + x, 0) / pts.length;
  const my = pts.reduce((s, [, y]) => s + y, 0) / pts.length;
  const num = pts.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const den = pts.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return den === 0 ? Number.NaN : num / den;
}
