/**
 * Trigger maths, with no I/O: when does a schedule fire, and what does a scheduler do with the
 * due times it finds after a pause in its own ticking (lag) or in the whole cluster (downtime)?
 *
 * Three kinds of trigger:
 * - cron: 5 or 6 fields (seconds optional) in an IANA time zone, parsed by croner;
 * - interval: every N seconds, on a grid anchored at `startAt` (or at the first due time);
 * - once: one instant.
 *
 * Cron and time zones. croner 9 enumerates the wall-clock matches well, but its own time-zone
 * conversion maps a wall time inside a fall-back overlap to the *second* occurrence and can skip
 * the first pass of that hour entirely (measured: "*\/10 * * * * *" in Europe/Berlin jumps from
 * 2026-10-25T00:59:50Z to 01:59:50Z), and each zoned call costs ~0.35 ms. So croner is used only
 * on wall-clock time (utcOffset 0: ~2 µs a call) and the mapping to instants is done here, with
 * the rule Temporal calls "compatible" (RFC 5545 does the same):
 * - a wall time that does not exist (spring-forward gap) fires at the instant it maps to when
 *   read with the offset before the gap, i.e. shifted forward by the gap: 02:30 on 2026-03-29 in
 *   Europe/Berlin fires at 03:30 CEST (01:30Z);
 * - a wall time that occurs twice (fall-back overlap) fires at its first occurrence. Patterns
 *   that fire every hour (hour field `*`) also fire in the repeated hour, so that "every 10
 *   minutes" keeps its rhythm in real time (Vixie cron's rule); patterns with fixed hours fire
 *   once: "30 2 * * *" on 2026-10-25 fires at 02:30 CEST (00:30Z) only.
 */
import { Cron, CronPattern } from "croner";
import type { FieldError } from "./errors.js";

export type CronTrigger = { kind: "cron"; expression: string; timezone: string };
export type IntervalTrigger = { kind: "interval"; seconds: number; startAt?: string };
export type OnceTrigger = { kind: "once"; at: string };
export type Trigger = CronTrigger | IntervalTrigger | OnceTrigger;

export type CatchUp = "none" | "latest" | "all";

/** catchUp "all" fires at most this many missed due times (the most recent ones). */
export const CATCH_UP_LIMIT = 100;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** Two DST transitions of one zone are always further apart than this. */
const NO_TWO_TRANSITIONS_WITHIN = 25 * HOUR;

// ------------------------------------------------------------------ time zones

const formatters = new Map<string, Intl.DateTimeFormat>();
const UTC_NAMES = new Set(["UTC", "Etc/UTC", "GMT", "Etc/GMT", "Etc/UCT", "UCT", "Zulu", "Etc/Zulu", "Universal", "Etc/Universal"]);

/** True when the runtime knows the IANA zone name. */
export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(tz, f);
  }
  return f;
}

/** UTC offset of `tz` at `t` straight from Intl (~40 µs a call: formatToParts is slow). */
function rawOffsetMinutes(tz: string, t: number): number {
  const p: Record<string, number> = {};
  for (const part of formatter(tz).formatToParts(new Date(t))) {
    if (part.type !== "literal") p[part.type] = Number(part.value);
  }
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return Math.round((wall - Math.floor(t / 1000) * 1000) / MINUTE);
}

const DAY = 24 * HOUR;
/** Per zone and UTC day: offset at its start, at its end, and (if they differ) the switch instant. */
const days = new Map<string, { start: number; end: number; switchAt: number }>();

/**
 * UTC offset of `tz` at instant `t`, in minutes (Berlin in summer: 120). Cached per UTC day: a
 * day whose first and last second have the same offset has it throughout (no zone changes twice in
 * a day); on a transition day the switch second is found once by bisection.
 */
export function offsetMinutes(tz: string, t: number): number {
  if (UTC_NAMES.has(tz)) return 0;
  const day = Math.floor(t / DAY);
  const key = `${tz}@${day}`;
  let info = days.get(key);
  if (!info) {
    const lo = day * DAY;
    const hi = lo + DAY - 1000;
    const start = rawOffsetMinutes(tz, lo);
    const end = rawOffsetMinutes(tz, hi);
    let switchAt = Number.POSITIVE_INFINITY;
    if (start !== end) {
      let a = lo; // offset(a) = start
      let b = hi; // offset(b) = end
      while (b - a > 1000) {
        const m = a + Math.floor((b - a) / 2000) * 1000;
        if (rawOffsetMinutes(tz, m) === start) a = m;
        else b = m;
      }
      switchAt = b;
    }
    info = { start, end, switchAt };
    if (days.size > 20_000) days.clear();
    days.set(key, info);
  }
  return t >= info.switchAt ? info.end : info.start;
}

// ------------------------------------------------------------------ cron

interface CompiledCron {
  /** Enumerates wall-clock matches, reading wall time as if it were UTC. */
  wall: Cron;
  /** True when the hour field matches every hour (such patterns also fire in a repeated hour). */
  everyHour: boolean;
}

const compiled = new Map<string, CompiledCron>();

function compile(expression: string): CompiledCron {
  let c = compiled.get(expression);
  if (!c) {
    const wall = new Cron(expression, { utcOffset: 0, paused: true, legacyMode: true });
    const everyHour = new CronPattern(expression).hour.every((h) => h === 1);
    c = { wall, everyHour };
    if (compiled.size > 5000) compiled.clear();
    compiled.set(expression, c);
  }
  return c;
}

/** Strips croner's "CronPattern: " prefix from its messages. */
function cronMessage(err: unknown): string {
  return String((err as Error)?.message ?? err).replace(/^CronPattern:\s*/, "");
}

/**
 * The instants a wall time maps to in a zone whose offset is one of `offsets` around it:
 * one normally, two in a fall-back overlap (earlier first), and for a wall time inside a
 * spring-forward gap, the instant read with the smaller (pre-gap) offset.
 */
function instantsOf(tz: string, wall: number, offsets: number[]): { at: number; repeat: boolean }[] {
  const found = new Set<number>();
  for (const o of offsets) {
    const at = wall - o * MINUTE;
    if (offsetMinutes(tz, at) === o) found.add(at);
  }
  if (found.size === 0) return [{ at: wall - Math.min(...offsets) * MINUTE, repeat: false }];
  return [...found].sort((a, b) => a - b).map((at, i) => ({ at, repeat: i > 0 }));
}

/** True when the wall time of `at` also occurred at an earlier instant (second pass of a fall-back). */
function isRepeatedWallTime(tz: string, at: number): boolean {
  const now = offsetMinutes(tz, at);
  const before = offsetMinutes(tz, at - 3 * HOUR);
  if (before <= now) return false;
  const earlier = at + (now - before) * MINUTE;
  return offsetMinutes(tz, earlier) === before;
}

/**
 * The first fire time of a cron trigger strictly after `after`, or null if it never fires again.
 *
 * Fast path (all but a few calls a year): read `after` as wall time with its own offset, ask croner
 * for the next wall match and map it back with the same offset. If the result has that offset and
 * lies within 25 h, no DST transition sits in between, so nothing earlier can match. Otherwise
 * search the next 25 h around the transition wall match by wall match (nearTransition), and if
 * nothing fires there, jump ahead (never past a match: see the bound in the loop) and repeat.
 */
export function cronNextAfter(expression: string, tz: string, after: Date): Date | null {
  const c = compile(expression);
  let from = after.getTime();
  for (let guard = 0; guard < 100_000; guard++) {
    const o = offsetMinutes(tz, from);
    const w = c.wall.nextRun(new Date(from + o * MINUTE));
    if (!w) return null;
    const fast = w.getTime() - o * MINUTE;
    if (offsetMinutes(tz, fast) === o && fast - from <= NO_TWO_TRANSITIONS_WITHIN) {
      if (!c.everyHour && isRepeatedWallTime(tz, fast)) {
        from = fast; // fixed-hour pattern: this wall time already occurred (first pass)
        continue;
      }
      return new Date(fast);
    }
    const near = nearTransition(c, tz, from);
    if (near === undefined) return null;
    if (near !== null) return new Date(near);
    // Nothing fires in (from, from + 25 h]. A match m beyond that has m >= fast - 2 h (the largest
    // DST shift), so jumping to fast - 25 h cannot pass one.
    from = Math.max(from + NO_TWO_TRANSITIONS_WITHIN, fast - NO_TWO_TRANSITIONS_WITHIN);
  }
  throw new Error(`cron '${expression}' in ${tz}: no next run found (internal limit)`);
}

/**
 * The first fire time in (from, from + 25 h], found wall match by wall match with the (at most
 * two) offsets the zone has in that window: null if none, undefined if the pattern never fires.
 */
function nearTransition(c: CompiledCron, tz: string, from: number): number | null | undefined {
  const end = from + NO_TWO_TRANSITIONS_WITHIN;
  const offsets = [...new Set([offsetMinutes(tz, from), offsetMinutes(tz, end)])];
  let wall = new Date(from + Math.min(...offsets) * MINUTE);
  for (;;) {
    const w = c.wall.nextRun(wall);
    if (!w) return undefined;
    if (w.getTime() - Math.max(...offsets) * MINUTE > end) return null;
    for (const cand of instantsOf(tz, w.getTime(), offsets)) {
      if (cand.at <= from || cand.at > end) continue;
      if (cand.repeat && !c.everyHour) continue;
      return cand.at;
    }
    wall = w;
  }
}

// ------------------------------------------------------------------ validation

/** Field errors of a trigger (names like "trigger.expression"); `now` decides "in the past". */
export function validateTrigger(t: Trigger, now: Date, prefix = "trigger."): FieldError[] {
  const errors: FieldError[] = [];
  switch (t.kind) {
    case "cron": {
      const expr = t.expression.trim();
      const fields = expr.startsWith("@") ? 1 : expr.split(/\s+/).length;
      if (expr.includes("?")) {
        errors.push({ field: `${prefix}expression`, message: "'?' is not supported (croner replaces it with the time of parsing, which differs per instance)" });
      } else if (!expr.startsWith("@") && fields !== 5 && fields !== 6) {
        errors.push({ field: `${prefix}expression`, message: `expected 5 or 6 space-separated fields, got ${fields}` });
      } else {
        try {
          const c = compile(expr);
          if (!c.wall.nextRun(now)) errors.push({ field: `${prefix}expression`, message: "never fires" });
        } catch (err) {
          errors.push({ field: `${prefix}expression`, message: `invalid cron expression: ${cronMessage(err)}` });
        }
      }
      if (!isValidTimeZone(t.timezone)) {
        errors.push({ field: `${prefix}timezone`, message: `unknown time zone '${t.timezone.slice(0, 100)}' (use an IANA name such as Europe/Berlin)` });
      }
      break;
    }
    case "interval":
      if (!Number.isInteger(t.seconds) || t.seconds < 1) {
        errors.push({ field: `${prefix}seconds`, message: "must be a whole number of seconds, at least 1" });
      }
      if (t.startAt !== undefined && Number.isNaN(Date.parse(t.startAt))) {
        errors.push({ field: `${prefix}startAt`, message: "must be an ISO 8601 instant" });
      }
      break;
    case "once": {
      const at = Date.parse(t.at);
      if (Number.isNaN(at)) errors.push({ field: `${prefix}at`, message: "must be an ISO 8601 instant" });
      else if (at <= now.getTime()) errors.push({ field: `${prefix}at`, message: `must be in the future (it is ${new Date(at).toISOString()}, now is ${now.toISOString()})` });
      break;
    }
  }
  return errors;
}

/** Normalises a validated trigger for storage (trimmed expression, ISO instants in UTC). */
export function normalizeTrigger(t: Trigger): Trigger {
  switch (t.kind) {
    case "cron":
      return { kind: "cron", expression: t.expression.trim().replace(/\s+/g, " "), timezone: t.timezone };
    case "interval":
      return t.startAt === undefined
        ? { kind: "interval", seconds: t.seconds }
        : { kind: "interval", seconds: t.seconds, startAt: new Date(t.startAt).toISOString() };
    case "once":
      return { kind: "once", at: new Date(t.at).toISOString() };
  }
}

// ------------------------------------------------------------------ fire times

/**
 * The fire time that follows the fire time `due` (interval: due + seconds, so the grid never
 * drifts; once: none).
 */
export function fireAfter(t: Trigger, due: Date): Date | null {
  switch (t.kind) {
    case "cron":
      return cronNextAfter(t.expression, t.timezone, due);
    case "interval":
      return new Date(due.getTime() + t.seconds * 1000);
    case "once":
      return null;
  }
}

/**
 * The first fire time strictly after `now`: for a new schedule, a resume without catch-up, or a
 * changed trigger. An interval keeps its grid: anchored at `startAt`, else at `ref` (the stored
 * next_run_at, when there is one), else it starts `seconds` from now.
 */
export function firstRunAfter(t: Trigger, now: Date, ref: Date | null = null): Date | null {
  switch (t.kind) {
    case "cron":
      return cronNextAfter(t.expression, t.timezone, now);
    case "interval": {
      const step = t.seconds * 1000;
      const anchor = t.startAt ? Date.parse(t.startAt) : ref?.getTime();
      if (anchor === undefined) return new Date(now.getTime() + step);
      if (anchor > now.getTime()) return new Date(anchor);
      const k = Math.floor((now.getTime() - anchor) / step) + 1;
      return new Date(anchor + k * step);
    }
    case "once": {
      const at = Date.parse(t.at);
      return at > now.getTime() ? new Date(at) : null;
    }
  }
}

/** `first` and the fire times after it: n instants in all (fewer for a one-time trigger). */
export function upcoming(t: Trigger, first: Date | null, n: number): Date[] {
  const out: Date[] = [];
  let d = first;
  while (d && out.length < n) {
    out.push(d);
    d = fireAfter(t, d);
  }
  return out;
}

/**
 * Due times from `first` (itself a due time) up to and including `now`: the most recent `limit`
 * of them, how many there were (`total`; a lower bound when `exact` is false) and the first fire
 * time after `now`.
 */
export function dueUpTo(t: Trigger, first: Date, now: Date, limit: number): { times: Date[]; total: number; exact: boolean; next: Date | null } {
  const end = now.getTime();
  if (first.getTime() > end) return { times: [], total: 0, exact: true, next: first };
  switch (t.kind) {
    case "once":
      return { times: [first], total: 1, exact: true, next: null };
    case "interval": {
      const step = t.seconds * 1000;
      const total = Math.floor((end - first.getTime()) / step) + 1;
      const times: Date[] = [];
      for (let k = Math.max(0, total - limit); k < total; k++) times.push(new Date(first.getTime() + k * step));
      return { times, total, exact: true, next: new Date(first.getTime() + total * step) };
    }
    case "cron":
      return cronDueUpTo(t, first, end, limit);
  }
}

/** Walking more than this many cron due times switches to a window search from `now` backwards. */
const WALK_LIMIT = 2000;

function cronDueUpTo(t: CronTrigger, first: Date, end: number, limit: number) {
  const times: Date[] = [first];
  let d: Date | null = first;
  let total = 1;
  for (;;) {
    d = cronNextAfter(t.expression, t.timezone, d);
    if (!d || d.getTime() > end) return { times: times.slice(-limit), total, exact: true, next: d };
    times.push(d);
    total++;
    if (times.length > limit) times.shift();
    if (total >= WALK_LIMIT) break;
  }
  // A long gap (e.g. every second for a day): find the last `limit` due times by searching
  // windows that end at `now` and grow until they hold enough of them.
  const span = times[times.length - 1].getTime() - times[0].getTime();
  let w = Math.max(1000, Math.ceil((span / Math.max(1, times.length - 1)) * (limit + 1)));
  for (;;) {
    const start = Math.max(times[times.length - 1].getTime(), end - w);
    const found: Date[] = [];
    let x: Date | null = cronNextAfter(t.expression, t.timezone, new Date(start));
    while (x && x.getTime() <= end) {
      found.push(x);
      if (found.length > limit) found.shift();
      x = cronNextAfter(t.expression, t.timezone, x);
    }
    if (found.length >= limit || start === times[times.length - 1].getTime()) {
      const merged = start === times[times.length - 1].getTime() ? [...times, ...found].slice(-limit) : found;
      return { times: merged, total: total + found.length, exact: false, next: x };
    }
    w *= 4;
  }
}

export interface FiringPlan {
  /** Due times to fire now, oldest first. */
  fire: Date[];
  /** Due times older than the grace period (missed during downtime or a pause in ticking). */
  missed: number;
  /** Missed due times that catchUp decided not to fire. */
  dropped: number;
  /** The next due time after now; null when the trigger has no more (one-time). */
  next: Date | null;
}

/**
 * What a scheduler does with a claimed schedule. Due times within `graceMs` of now are on time
 * (a late tick, not downtime) and always fire. Older ones were missed:
 * - none: fire none of them;
 * - latest: fire only the most recent one;
 * - all: fire each, at most CATCH_UP_LIMIT (the most recent ones).
 */
export function planFirings(input: { trigger: Trigger; nextRunAt: Date; now: Date; catchUp: CatchUp; graceMs: number }): FiringPlan {
  const { trigger, nextRunAt, now, catchUp, graceMs } = input;
  const due = dueUpTo(trigger, nextRunAt, now, CATCH_UP_LIMIT);
  const cutoff = now.getTime() - graceMs;
  const onTime = due.times.filter((d) => d.getTime() > cutoff);
  const missedShown = due.times.filter((d) => d.getTime() <= cutoff);
  const missed = due.total - onTime.length;
  let fire: Date[];
  switch (catchUp) {
    case "none":
      fire = onTime;
      break;
    case "latest":
      fire = missedShown.length ? [missedShown[missedShown.length - 1], ...onTime] : onTime;
      break;
    case "all":
      fire = [...missedShown, ...onTime].slice(-CATCH_UP_LIMIT);
      break;
  }
  const firedMissed = fire.length - onTime.length;
  return { fire, missed, dropped: missed - Math.max(0, firedMissed), next: due.next };
}

/** A human summary of a trigger ("cron 0 9 * * * (Europe/Berlin)", "every 900 s", "once at ..."). */
export function describeTrigger(t: Trigger): string {
  switch (t.kind) {
    case "cron":
      return `cron ${t.expression} (${t.timezone})`;
    case "interval":
      return `every ${t.seconds} s`;
    case "once":
      return `once at ${t.at}`;
  }
}
