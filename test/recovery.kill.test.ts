/**
 * kill -9 an instance while it runs 5 simulate tasks: the other instance takes them over within
 * the recovery window, each gets a `recovered` row, none completes twice, and no graphile_worker
 * job stays locked by the dead pool. Two real processes on one database.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "./helpers/db.js";
import { type Instance, spawnInstance } from "./helpers/process.js";
import { api, waitFor } from "./helpers/service.js";

let tdb: TestDb;
let a: Instance | undefined;
let b: Instance | undefined;

const HEARTBEAT_MS = Number(process.env.KILL_TEST_HEARTBEAT_MS ?? 1000);
const DEAD_AFTER_MS = Number(process.env.KILL_TEST_DEAD_AFTER_MS ?? 4000);
const POLL_MS = 1000;
// RECOVERY_INTERVAL_MS is left unset: it defaults to the heartbeat interval.
const ENV = {
  HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS),
  INSTANCE_DEAD_AFTER_MS: String(DEAD_AFTER_MS),
  WORKER_POLL_INTERVAL_MS: String(POLL_MS),
  WORKER_CONCURRENCY: "8",
  SHUTDOWN_TIMEOUT_MS: "3000",
  PRUNE_INTERVAL_MS: "0",
};
/**
 * Invariant 5's bound, counted from A's last heartbeat and derived from the configuration above.
 * A is dead once it has been silent for DEAD_AFTER_MS. B's recovery pass runs every recovery
 * interval (= HEARTBEAT_MS), so the first pass that sees A dead starts within one interval; passes
 * never overlap, so one that outlasts its interval makes the timer skip a tick: two intervals in
 * all. The recovered tasks get new graphile-worker jobs whose NOTIFY wakes B's worker at once, at
 * the latest at its next poll (POLL_MS).
 */
const RECOVERED_WITHIN_MS = DEAD_AFTER_MS + 2 * HEARTBEAT_MS;
const RESTARTED_WITHIN_MS = RECOVERED_WITHIN_MS + POLL_MS;

beforeAll(async () => {
  tdb = await createTestDb();
  const tag = randomBytes(3).toString("hex");
  [a, b] = await Promise.all([spawnInstance(tdb.url, `kill-a-${tag}`, ENV), spawnInstance(tdb.url, `kill-b-${tag}`, ENV)]);
});
afterAll(async () => {
  if (b?.proc.pid && b.proc.exitCode === null && b.proc.signalCode === null) process.kill(b.proc.pid, "SIGCONT");
  await Promise.all([a?.kill(), b?.kill()]);
  await tdb?.drop();
});

describe("kill -9 mid-task", () => {
  it("hands all five running tasks to the surviving instance, each completed exactly once", async () => {
    const sql = tdb.database.sql;
    const A = a!;
    const B = b!;
    // Hold B still for the moment A claims the work, so every task runs on A.
    process.kill(B.proc.pid!, "SIGSTOP");
    const ids: number[] = [];
    try {
      for (let i = 0; i < 5; i++) {
        const r = await api(A.url, "POST", "/api/tasks", { type: "simulate", title: `kill-${i}`, payload: { durationMs: 3000 } });
        expect(r.status).toBe(201);
        ids.push(r.body.id);
      }
      await waitFor(
        async () => {
          const [r] = await sql<{ n: number }[]>`
            select count(*)::int as n from baton.tasks where id = any(${ids}) and status = 'processing' and locked_by = ${A.id}`;
          return r.n === 5;
        },
        { timeoutMs: 20_000, what: "all five running on A" },
      );
    } finally {
      process.kill(B.proc.pid!, "SIGCONT");
    }
    const [{ worker_pool_id: poolA }] = await sql<{ worker_pool_id: string }[]>`
      select worker_pool_id from baton.instances where id = ${A.id}`;
    expect(poolA).toBeTruthy();

    const killedAt = Date.now();
    await A.kill();

    await waitFor(
      async () => {
        const [r] = await sql<{ n: number }[]>`select count(*)::int as n from baton.tasks where id = any(${ids}) and status = 'completed'`;
        return r.n === 5;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: "all five completed on B" },
    );
    const allDoneMs = Date.now() - killedAt;

    for (const id of ids) {
      // A's attempt: the recovered row B wrote for it (A is dead), with A's start; then B's own
      const logs = await sql<{ event: string; instance_id: string | null; attempt: number; started_at: Date | null }[]>`
        select event, instance_id, attempt, started_at from baton.task_logs where task_id = ${id} order by id`;
      expect(logs.map((l) => l.event), `task ${id}`).toEqual(["recovered", "succeeded"]);
      expect(logs.map((l) => l.instance_id)).toEqual([B.id, B.id]);
      expect(logs.map((l) => l.attempt)).toEqual([1, 2]);
      expect(logs.every((l) => l.started_at !== null)).toBe(true);
      expect(+logs[0].started_at!).toBeLessThan(+logs[1].started_at!);
    }
    const [t] = await sql<{ attempts: number[] }[]>`select array_agg(attempts order by id) as attempts from baton.tasks where id = any(${ids})`;
    expect(t.attempts).toEqual([2, 2, 2, 2, 2]);

    const [locked] = await sql<{ n: number }[]>`select count(*)::int as n from graphile_worker.jobs where locked_by = ${poolA}`;
    expect(locked.n).toBe(0);
    const [jobs] = await sql<{ n: number }[]>`select count(*)::int as n from graphile_worker.jobs`;
    expect(jobs.n).toBe(0);

    const [inst] = await sql<{ state: string; recovered_by: string }[]>`
      select state, recovered_by from baton.instance_health where id = ${A.id}`;
    expect(inst).toEqual({ state: "recovered", recovered_by: B.id });

    // Database clock on both sides: A's last heartbeat, and for each task B's `recovered` row and
    // the start of B's attempt (on its outcome row).
    const latency = await sql<{ id: number; recovered_ms: number; restarted_ms: number }[]>`
      select l.task_id::int as id,
             extract(epoch from max(l.created_at) filter (where l.event = 'recovered') - s.heartbeat_at)::float8 * 1000 as recovered_ms,
             extract(epoch from max(l.started_at) filter (where l.event = 'succeeded' and l.instance_id = ${B.id}) - s.heartbeat_at)::float8 * 1000 as restarted_ms
      from baton.task_logs l, baton.instances s
      where l.task_id = any(${ids}) and s.id = ${A.id}
      group by l.task_id, s.heartbeat_at
      order by l.task_id`;
    expect(latency.map((r) => r.id)).toEqual(ids);
    const recoveredMs = Math.max(...latency.map((r) => r.recovered_ms));
    const restartedMs = Math.max(...latency.map((r) => r.restarted_ms));
    console.log(
      `[recovery.kill] dead after ${DEAD_AFTER_MS} ms, heartbeat ${HEARTBEAT_MS} ms, poll ${POLL_MS} ms: recovered ${Math.round(recoveredMs)} ms (bound ${RECOVERED_WITHIN_MS}) and running again on B ${Math.round(restartedMs)} ms (bound ${RESTARTED_WITHIN_MS}) after A's last heartbeat; all 5 completed ${allDoneMs} ms after kill -9`,
    );
    // Not before A's window ran out (B must not judge a live instance dead) ...
    for (const r of latency) expect(r.recovered_ms, `task ${r.id} recovered before A's window ran out`).toBeGreaterThanOrEqual(DEAD_AFTER_MS);
    // ... and within the window plus the slack above.
    expect(recoveredMs, "recovered row later than the recovery window allows").toBeLessThanOrEqual(RECOVERED_WITHIN_MS);
    expect(restartedMs, "B started the tasks later than the recovery window allows").toBeLessThanOrEqual(RESTARTED_WITHIN_MS);

    expect(await B.stop()).toBe(0);
  });
});
