/**
 * Schedules across real baton processes sharing one database (spawnInstance: `node src/main.ts`):
 * 1. three instances, one schedule firing every second for 20 s: exactly one task per due second;
 * 2. one instance stops (SIGTERM) while the schedule keeps firing: the others fire every due time;
 * 3. all instances stop over 3 due times, then one starts: catchUp none → 0 extra firings,
 *    latest → 1, all → 3. The downtime is made exact by moving next_run_at 170 s into the past
 *    while every instance is down (what a 170 s outage leaves behind: due times at -170 s, -110 s
 *    and -50 s, the next at +10 s), so the counts do not depend on how long a restart takes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "./helpers/db.js";
import { type Instance, spawnInstance } from "./helpers/process.js";
import { api, waitFor } from "./helpers/service.js";

let tdb: TestDb;
const running: Instance[] = [];
// A generous misfire grace: on a loaded 2-core machine a process can stall for seconds, and a
// stall is lag, not downtime (the catch-up test's missed due times are 50 s and more old).
const ENV = { SCHEDULER_TICK_MS: "250", SCHEDULER_MISFIRE_GRACE_MS: "20000", WORKER_CONCURRENCY: "4", LOG_LEVEL: "info" };

beforeAll(async () => {
  tdb = await createTestDb();
});
afterAll(async () => {
  await Promise.all(running.map((i) => i.kill()));
  await tdb?.drop();
});

const sql = () => tdb.database.sql;

async function start(id: string): Promise<Instance> {
  const i = await spawnInstance(tdb.url, id, ENV);
  running.push(i);
  return i;
}

async function stop(i: Instance): Promise<number | null> {
  const code = await i.stop();
  running.splice(running.indexOf(i), 1);
  return code;
}

async function firings(scheduleId: number) {
  return sql()<{ at: Date; instance: string | null }[]>`
    select t.scheduled_for as at,
           (select l.instance_id from baton.task_logs l where l.task_id = t.id and l.event = 'note' and l.message like 'fired by%' limit 1) as instance
    from baton.tasks t where t.schedule_id = ${scheduleId} order by t.scheduled_for`;
}

/** Every whole second from the first to the last firing, exactly once. */
function expectEverySecond(times: number[]) {
  expect(new Set(times).size, "duplicates").toBe(times.length);
  const first = times[0];
  const last = times[times.length - 1];
  const expected = Array.from({ length: (last - first) / 1000 + 1 }, (_, i) => first + i * 1000);
  expect(times, "gaps").toEqual(expected);
}

describe("schedules across real processes", () => {
  let a: Instance;
  let b: Instance;
  let c: Instance;
  let everySecond: number;

  it("three instances, a schedule due every second for 20 s: exactly one task per due second", async () => {
    [a, b, c] = await Promise.all([start("sched-a"), start("sched-b"), start("sched-c")]);
    const r = await api(a.url, "POST", "/api/schedules", {
      name: "every-second",
      type: "noop",
      trigger: { kind: "cron", expression: "* * * * * *" },
      // this is about firing, not overlap: with "skip" a noop still queued after 1 s on a loaded
      // machine would (rightly) leave the next due second out
      overlap: "allow",
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    everySecond = r.body.id;
    const firstDue = Date.parse(r.body.nextRunAt);
    await waitFor(async () => {
      const [x] = await sql()<{ n: number }[]>`
        select count(*)::int as n from baton.tasks where schedule_id = ${everySecond} and scheduled_for >= ${new Date(firstDue + 20_000)}`;
      return x.n > 0;
    }, { timeoutMs: 60_000, what: "20 s of firings" });
    const rows = (await firings(everySecond)).filter((f) => f.at.getTime() <= firstDue + 20_000);
    const times = rows.map((f) => f.at.getTime());
    expect(times[0]).toBe(firstDue);
    expect(times).toHaveLength(21);
    expectEverySecond(times);
    const [dups] = await sql()<{ n: number }[]>`
      select count(*)::int as n from (select scheduled_for from baton.tasks where schedule_id = ${everySecond}
        group by scheduled_for having count(*) > 1) d`;
    expect(dups.n).toBe(0);
    const by: Record<string, number> = {};
    for (const f of rows) by[f.instance ?? "?"] = (by[f.instance ?? "?"] ?? 0) + 1;
    console.log(`firings per instance over 21 due seconds: ${JSON.stringify(by)}`);
    for (const id of Object.keys(by)) expect(["sched-a", "sched-b", "sched-c"]).toContain(id);
  }, 180_000);

  it("one instance stops over due times: the others fire them", async () => {
    expect(await stop(c)).toBe(0);
    const [{ now: stoppedAt }] = await sql()<{ now: Date }[]>`select now()`;
    await waitFor(async () => {
      const [x] = await sql()<{ n: number }[]>`
        select count(*)::int as n from baton.tasks where schedule_id = ${everySecond} and scheduled_for > ${stoppedAt}`;
      return x.n >= 4;
    }, { timeoutMs: 30_000, what: "four firings after the stop" });
    const pause = await api(a.url, "POST", `/api/schedules/${everySecond}/pause`);
    expect(pause.status).toBe(200);
    const rows = await firings(everySecond);
    expectEverySecond(rows.map((f) => f.at.getTime()));
    const after = rows.filter((f) => f.at.getTime() > stoppedAt.getTime());
    expect(after.length).toBeGreaterThanOrEqual(4);
    for (const f of after) expect(["sched-a", "sched-b"]).toContain(f.instance);
  }, 90_000);

  it("all instances stop over 3 due times: catchUp none gives 0 extra firings, latest 1, all 3", async () => {
    const ids: Record<string, number> = {};
    for (const catchUp of ["none", "latest", "all"]) {
      const r = await api(a.url, "POST", "/api/schedules", {
        name: `downtime-${catchUp}`,
        type: "noop",
        trigger: { kind: "interval", seconds: 60 },
        catchUp,
        overlap: "allow",
      });
      expect(r.status).toBe(201);
      ids[catchUp] = r.body.id;
    }
    // the every-second schedule is paused; let its last tasks finish before the drain
    await waitFor(async () => {
      const [x] = await sql()<{ n: number }[]>`select count(*)::int as n from baton.tasks where status not in ('completed', 'failed', 'canceled')`;
      return x.n === 0;
    }, { what: "no unfinished tasks" });
    expect(await Promise.all([stop(a), stop(b)])).toEqual([0, 0]);

    // While everything is down: the first unfired due time is now 170 s old.
    const [{ t0 }] = await sql()<{ t0: Date }[]>`
      update baton.schedules set next_run_at = date_trunc('second', now()) - interval '170 seconds'
      where id = any(${Object.values(ids)}) returning next_run_at as t0`;
    const base = t0.getTime();
    const next = base + 180_000;
    for (const id of Object.values(ids)) {
      const [x] = await sql()<{ n: number }[]>`select count(*)::int as n from baton.tasks where schedule_id = ${id}`;
      expect(x.n).toBe(0);
    }

    const d = await start("sched-d");
    await waitFor(async () => {
      const rows = await sql()<{ next_run_at: Date }[]>`select next_run_at from baton.schedules where id = any(${Object.values(ids)})`;
      return rows.every((r) => r.next_run_at.getTime() >= next);
    }, { timeoutMs: 30_000, what: "the restarted instance to process the missed due times" });
    const missed = async (id: number) =>
      (await sql()<{ at: Date }[]>`select scheduled_for as at from baton.tasks where schedule_id = ${id} and scheduled_for < ${new Date(next)} order by 1`).map((r) =>
        r.at.getTime(),
      );
    expect(await missed(ids.none)).toEqual([]);
    expect(await missed(ids.latest)).toEqual([base + 120_000]);
    expect(await missed(ids.all)).toEqual([base, base + 60_000, base + 120_000]);
    const s = await api(d.url, "GET", `/api/schedules/${ids.none}`);
    expect(Date.parse(s.body.nextRunAt)).toBeGreaterThanOrEqual(next);
    // let the catch-up tasks finish before the drain (a clean stop is not what this test is about)
    await waitFor(async () => {
      const [x] = await sql()<{ n: number }[]>`
        select count(*)::int as n from baton.tasks where schedule_id = any(${Object.values(ids)}) and status <> 'completed'`;
      return x.n === 0;
    }, { what: "catch-up tasks completed" });
    expect(await stop(d)).toBe(0);
  }, 150_000);
});
