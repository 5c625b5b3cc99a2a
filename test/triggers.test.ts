/**
 * Trigger maths (src/domain/triggers.ts), no database: cron across DST changes with exact
 * instants, interval grids, validation messages naming the field, and the catch-up plan.
 */
import { describe, expect, it } from "vitest";
import {
  cronNextAfter,
  dueUpTo,
  firstRunAfter,
  offsetMinutes,
  planFirings,
  type Trigger,
  upcoming,
  validateTrigger,
} from "../src/domain/triggers.js";

const iso = (ds: Date[]) => ds.map((d) => d.toISOString());
const cron = (expression: string, timezone = "UTC"): Trigger => ({ kind: "cron", expression, timezone });
/** The n fire times after `from`, as ISO strings. */
const runs = (t: Trigger, from: string, n: number) => iso(upcoming(t, firstRunAfter(t, new Date(from)), n));

describe("cron across DST changes (exact instants)", () => {
  it("30 2 * * * Europe/Berlin over the spring-forward night of 2026-03-29 fires once, at 03:30 CEST", () => {
    // 02:30 does not exist that night: it is read with the pre-gap offset (+01:00) = 01:30Z = 03:30 CEST.
    expect(runs(cron("30 2 * * *", "Europe/Berlin"), "2026-03-27T12:00:00Z", 4)).toEqual([
      "2026-03-28T01:30:00.000Z", // 02:30 CET
      "2026-03-29T01:30:00.000Z", // 03:30 CEST (02:30 skipped by the clock)
      "2026-03-30T00:30:00.000Z", // 02:30 CEST
      "2026-03-31T00:30:00.000Z",
    ]);
  });

  it("30 2 * * * Europe/Berlin over the fall-back night of 2026-10-25 fires once, at the first 02:30", () => {
    expect(runs(cron("30 2 * * *", "Europe/Berlin"), "2026-10-23T12:00:00Z", 4)).toEqual([
      "2026-10-24T00:30:00.000Z", // 02:30 CEST
      "2026-10-25T00:30:00.000Z", // 02:30 CEST, first of the two 02:30s; the second (01:30Z) does not fire
      "2026-10-26T01:30:00.000Z", // 02:30 CET
      "2026-10-27T01:30:00.000Z",
    ]);
  });

  it("0 9 * * * Europe/Berlin (seed 001's daily webhook) stays at 09:00 local across both changes", () => {
    expect(runs(cron("0 9 * * *", "Europe/Berlin"), "2026-03-27T12:00:00Z", 3)).toEqual([
      "2026-03-28T08:00:00.000Z",
      "2026-03-29T07:00:00.000Z",
      "2026-03-30T07:00:00.000Z",
    ]);
    expect(runs(cron("0 9 * * *", "Europe/Berlin"), "2026-10-23T12:00:00Z", 3)).toEqual([
      "2026-10-24T07:00:00.000Z",
      "2026-10-25T08:00:00.000Z",
      "2026-10-26T08:00:00.000Z",
    ]);
  });

  it("an every-30-minutes cron keeps its real-time rhythm through the repeated hour", () => {
    expect(runs(cron("0,30 * * * *", "Europe/Berlin"), "2026-10-24T23:10:00Z", 8)).toEqual([
      "2026-10-24T23:30:00.000Z",
      "2026-10-25T00:00:00.000Z", // 02:00 CEST
      "2026-10-25T00:30:00.000Z", // 02:30 CEST
      "2026-10-25T01:00:00.000Z", // 02:00 CET (repeated hour, hour field is *)
      "2026-10-25T01:30:00.000Z", // 02:30 CET
      "2026-10-25T02:00:00.000Z", // 03:00 CET
      "2026-10-25T02:30:00.000Z",
      "2026-10-25T03:00:00.000Z",
    ]);
    // spring: 02:00 and 02:30 do not exist; the half-hourly rhythm continues at 03:00 CEST
    expect(runs(cron("0,30 * * * *", "Europe/Berlin"), "2026-03-29T00:10:00Z", 4)).toEqual([
      "2026-03-29T00:30:00.000Z",
      "2026-03-29T01:00:00.000Z", // 03:00 CEST
      "2026-03-29T01:30:00.000Z",
      "2026-03-29T02:00:00.000Z",
    ]);
  });

  it("a seconds cron has no hole at the fall-back (croner's own zone handling skips an hour here)", () => {
    expect(runs(cron("*/10 * * * * *", "Europe/Berlin"), "2026-10-25T00:59:45Z", 3)).toEqual([
      "2026-10-25T00:59:50.000Z",
      "2026-10-25T01:00:00.000Z",
      "2026-10-25T01:00:10.000Z",
    ]);
  });

  it("America/New_York: 09:00 daily and 01:30 on the fall-back day", () => {
    expect(runs(cron("0 9 * * *", "America/New_York"), "2026-03-07T12:00:00Z", 3)).toEqual([
      "2026-03-07T14:00:00.000Z",
      "2026-03-08T13:00:00.000Z",
      "2026-03-09T13:00:00.000Z",
    ]);
    expect(runs(cron("30 1 * * *", "America/New_York"), "2026-10-31T12:00:00Z", 3)).toEqual([
      "2026-11-01T05:30:00.000Z", // 01:30 EDT, the first one
      "2026-11-02T06:30:00.000Z",
      "2026-11-03T06:30:00.000Z",
    ]);
  });

  it("a yearly date far from `after` is found across a transition", () => {
    expect(runs(cron("0 9 1 7 *", "Europe/Berlin"), "2026-02-01T00:00:00Z", 2)).toEqual(["2026-07-01T07:00:00.000Z", "2027-07-01T07:00:00.000Z"]);
    expect(runs(cron("30 2 25 10 *", "Europe/Berlin"), "2026-02-01T00:00:00Z", 1)).toEqual(["2026-10-25T00:30:00.000Z"]);
  });

  it("fire times are strictly increasing and match the pattern in local time over a whole year", () => {
    let d = new Date("2026-01-01T00:00:00Z");
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const n = cronNextAfter("*/20 1-3 * * *", "Europe/Berlin", d)!;
      expect(n.getTime()).toBeGreaterThan(d.getTime());
      const local = new Date(n.getTime() + offsetMinutes("Europe/Berlin", n.getTime()) * 60_000);
      // inside the spring gap a 02:xx time is shifted to 03:xx; otherwise the wall time matches
      expect([1, 2, 3]).toContain(local.getUTCHours());
      expect(local.getUTCMinutes() % 20).toBe(0);
      const wall = local.toISOString();
      expect(seen.has(wall), `wall time ${wall} fired twice`).toBe(false);
      seen.add(wall);
      d = n;
    }
  });

  it("6 fields: every second, aligned to whole seconds", () => {
    expect(runs(cron("* * * * * *"), "2026-05-01T10:00:00.400Z", 3)).toEqual([
      "2026-05-01T10:00:01.000Z",
      "2026-05-01T10:00:02.000Z",
      "2026-05-01T10:00:03.000Z",
    ]);
  });
});

describe("interval and once", () => {
  it("interval: first run one period from now, then a fixed grid; startAt anchors the grid", () => {
    const t: Trigger = { kind: "interval", seconds: 900 };
    expect(runs(t, "2026-05-01T10:00:00Z", 3)).toEqual(["2026-05-01T10:15:00.000Z", "2026-05-01T10:30:00.000Z", "2026-05-01T10:45:00.000Z"]);
    const anchored: Trigger = { kind: "interval", seconds: 900, startAt: "2026-05-01T00:05:00Z" };
    expect(runs(anchored, "2026-05-01T10:00:00Z", 2)).toEqual(["2026-05-01T10:05:00.000Z", "2026-05-01T10:20:00.000Z"]);
    // a stored next_run_at keeps the grid on resume
    expect(firstRunAfter(t, new Date("2026-05-01T10:00:00Z"), new Date("2026-05-01T09:07:00Z"))?.toISOString()).toBe("2026-05-01T10:07:00.000Z");
  });

  it("once: one instant, then nothing", () => {
    const t: Trigger = { kind: "once", at: "2026-12-01T00:00:00Z" };
    expect(runs(t, "2026-05-01T10:00:00Z", 5)).toEqual(["2026-12-01T00:00:00.000Z"]);
    expect(firstRunAfter(t, new Date("2026-12-02T00:00:00Z"))).toBeNull();
  });
});

describe("validation names the failing field", () => {
  const now = new Date("2026-05-01T10:00:00Z");
  const fields = (t: Trigger) => validateTrigger(t, now).map((e) => e.field);

  it("accepts good triggers", () => {
    expect(validateTrigger(cron("0 9 * * *", "Europe/Berlin"), now)).toEqual([]);
    expect(validateTrigger(cron("*/5 * * * * *"), now)).toEqual([]);
    expect(validateTrigger(cron("@hourly"), now)).toEqual([]);
    expect(validateTrigger({ kind: "interval", seconds: 1 }, now)).toEqual([]);
    expect(validateTrigger({ kind: "once", at: "2026-05-01T10:00:01Z" }, now)).toEqual([]);
  });

  it("rejects bad cron expressions", () => {
    for (const bad of ["61 * * * *", "* * *", "hello", "* * * * * * *", "0 9 * * * *x", "0 0 30 2 *", "? * * * *"]) {
      expect(fields(cron(bad)), bad).toEqual(["trigger.expression"]);
    }
  });

  it("rejects unknown zones, non-positive intervals and past instants", () => {
    expect(fields(cron("0 9 * * *", "Mars/Olympus_Mons"))).toEqual(["trigger.timezone"]);
    expect(fields({ kind: "interval", seconds: 0 })).toEqual(["trigger.seconds"]);
    expect(fields({ kind: "interval", seconds: -5 })).toEqual(["trigger.seconds"]);
    expect(fields({ kind: "interval", seconds: 1.5 })).toEqual(["trigger.seconds"]);
    expect(fields({ kind: "once", at: "2026-05-01T09:59:59Z" })).toEqual(["trigger.at"]);
    expect(fields({ kind: "once", at: "2026-05-01T10:00:00Z" })).toEqual(["trigger.at"]);
  });
});

describe("planFirings: lag vs downtime, catchUp", () => {
  const every60: Trigger = { kind: "interval", seconds: 60 };
  const base = { trigger: every60, nextRunAt: new Date("2026-05-01T10:00:00Z"), graceMs: 5000 };
  // Down from before 10:00 until 10:02:50: due 10:00, 10:01, 10:02 were missed.
  const now = new Date("2026-05-01T10:02:50Z");

  it("none fires nothing missed, latest the most recent, all each one", () => {
    const none = planFirings({ ...base, now, catchUp: "none" });
    expect(iso(none.fire)).toEqual([]);
    expect(none.missed).toBe(3);
    expect(none.next?.toISOString()).toBe("2026-05-01T10:03:00.000Z");
    expect(iso(planFirings({ ...base, now, catchUp: "latest" }).fire)).toEqual(["2026-05-01T10:02:00.000Z"]);
    expect(iso(planFirings({ ...base, now, catchUp: "all" }).fire)).toEqual([
      "2026-05-01T10:00:00.000Z",
      "2026-05-01T10:01:00.000Z",
      "2026-05-01T10:02:00.000Z",
    ]);
  });

  it("a due time within the grace period is a late tick, not a miss: it fires whatever catchUp says", () => {
    const late = new Date("2026-05-01T10:00:03Z");
    for (const catchUp of ["none", "latest", "all"] as const) {
      expect(iso(planFirings({ ...base, now: late, catchUp }).fire)).toEqual(["2026-05-01T10:00:00.000Z"]);
    }
  });

  it("all is bounded at 100 (the most recent), also for a cron missed for days", () => {
    const long = planFirings({ ...base, now: new Date("2026-05-03T10:00:30Z"), catchUp: "all" });
    expect(long.fire).toHaveLength(100);
    expect(long.fire[99].toISOString()).toBe("2026-05-03T10:00:00.000Z");
    expect(long.missed).toBe(2 * 1440 + 1);
    const t0 = performance.now();
    const sec = dueUpTo(cron("* * * * * *", "Europe/Berlin"), new Date("2026-05-01T00:00:00Z"), new Date("2026-05-03T00:00:00.500Z"), 100);
    expect(performance.now() - t0).toBeLessThan(5000); // generous: measured ~20 ms
    expect(sec.times).toHaveLength(100);
    expect(sec.times[99].toISOString()).toBe("2026-05-03T00:00:00.000Z");
    expect(sec.next?.toISOString()).toBe("2026-05-03T00:00:01.000Z");
  });

  it("a one-time trigger has no next", () => {
    const once = planFirings({ trigger: { kind: "once", at: "2026-05-01T10:00:00Z" }, nextRunAt: new Date("2026-05-01T10:00:00Z"), now, graceMs: 5000, catchUp: "none" });
    expect(once.fire).toEqual([]);
    expect(once.next).toBeNull();
  });
});
