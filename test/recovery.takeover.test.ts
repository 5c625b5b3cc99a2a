/**
 * Crash recovery at the SQL level, on states built by hand (what a dead instance leaves behind in
 * baton.tasks and graphile_worker), plus the in-process fence. The real kill -9 test is
 * recovery.kill.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sql } from "../src/db/client.js";
import { registerInstance } from "../src/db/queries/instances.js";
import type { Service } from "../src/service.js";
import { CanceledError } from "../src/worker/errors.js";
import { TakenOverError } from "../src/recovery/recovery.js";
import { createTestDb, type TestDb } from "./helpers/db.js";
import { api, startTestService, waitFor } from "./helpers/service.js";

let tdb: TestDb;
let sql: Sql;

beforeAll(async () => {
  tdb = await createTestDb();
  sql = tdb.database.sql;
});
afterAll(async () => {
  await tdb?.drop();
});

async function addInstance(id: string, pool: string, opts: { silentForMs: number; deadAfterMs?: number }) {
  await sql`
    insert into baton.instances (id, host, pid, version, concurrency, worker_pool_id, heartbeat_at, dead_after_ms, started_at)
    values (${id}, 'test', 1, 'test', 10, ${pool}, now() - ${opts.silentForMs} * interval '1 millisecond',
            ${opts.deadAfterMs ?? 1000}, now() - interval '1 hour')`;
}

async function enqueue(type = "noop", queue: string | null = null, maxAttempts = 3): Promise<number> {
  const [r] = await sql<{ id: number }[]>`select baton.enqueue(${type}, '{}'::jsonb, 't', 0, ${queue}, now(), ${maxAttempts}) as id`;
  return r.id;
}

/** What a worker pool does when it claims a task's job and starts it (the task row only: no log row). */
async function claim(id: number, instance: string, pool: string, opts: { start: boolean; attempts?: number }) {
  await sql`
    update graphile_worker._private_jobs set locked_at = now(), locked_by = ${pool}, attempts = attempts + 1
    where key = ${`baton:${id}`}`;
  await sql`
    update graphile_worker._private_job_queues q set locked_at = now(), locked_by = ${pool}
    from graphile_worker._private_jobs j where j.key = ${`baton:${id}`} and q.id = j.job_queue_id`;
  if (opts.start) {
    await sql`
      update baton.tasks set status = 'processing', attempts = ${opts.attempts ?? 1}, locked_by = ${instance},
        started_at = now() - interval '5 seconds'
      where id = ${id}`;
  }
}

const jobsOf = (id: number) =>
  sql<{ id: number; locked_by: string | null; attempts: number; max_attempts: number }[]>`
    select id, locked_by, attempts, max_attempts from graphile_worker.jobs where key = ${`baton:${id}`}`;
const statusOf = async (id: number) => (await sql<{ status: string }[]>`select status from baton.tasks where id = ${id}`)[0]?.status;
const events = async (id: number) =>
  (await sql<{ event: string }[]>`select event from baton.task_logs where task_id = ${id} order by id`).map((r) => r.event);

describe("baton.recover_instance", () => {
  it("takes over every kind of leftover of a dead instance, exactly once", async () => {
    await addInstance("dead-1", "pool-dead", { silentForMs: 60_000 });
    await addInstance("live-1", "pool-live", { silentForMs: 0, deadAfterMs: 600_000 });

    const retry = await enqueue();
    await claim(retry, "dead-1", "pool-dead", { start: true, attempts: 1 });
    const exhausted = await enqueue("noop", null, 2);
    await claim(exhausted, "dead-1", "pool-dead", { start: true, attempts: 2 });
    const claimedNotStarted = await enqueue();
    await claim(claimedNotStarted, "dead-1", "pool-dead", { start: false });
    const queued = await enqueue("noop", "serial-q");
    await claim(queued, "dead-1", "pool-dead", { start: true });
    // finished (its outcome committed) but graphile-worker had not completed the job yet
    const finished = await enqueue();
    await claim(finished, "dead-1", "pool-dead", { start: true });
    await sql`update baton.tasks set status = 'completed', finished_at = now(), locked_by = null where id = ${finished}`;
    // a job whose key was cleared when its task was re-queued while it was locked
    await sql`select graphile_worker.add_job('baton:run', '{"id": 0}'::json)`;
    await sql`update graphile_worker._private_jobs set locked_at = now(), locked_by = 'pool-dead' where key is null`;
    // running on a live instance: must not be touched
    const other = await enqueue();
    await claim(other, "live-1", "pool-live", { start: true });

    const oldJobIds = new Map<number, number>();
    for (const id of [retry, claimedNotStarted, queued]) oldJobIds.set(id, (await jobsOf(id))[0].id);

    const rows = await sql<{ instance_id: string; task_id: number; status: string; attempt: number }[]>`
      select * from baton.recover_dead_instances('rescuer')`;
    expect(rows.map((r) => [r.instance_id, r.task_id, r.status]).sort()).toEqual(
      [
        ["dead-1", retry, "retrying"],
        ["dead-1", exhausted, "failed"],
        ["dead-1", queued, "retrying"],
      ].sort(),
    );

    expect(await statusOf(retry)).toBe("retrying");
    expect(await statusOf(exhausted)).toBe("failed");
    expect(await statusOf(claimedNotStarted)).toBe("pending");
    expect(await statusOf(queued)).toBe("retrying");
    expect(await statusOf(finished)).toBe("completed");
    expect(await statusOf(other)).toBe("processing");

    // one recovered row per interrupted attempt, written by the rescuer, as the attempt's outcome
    expect(await events(retry)).toEqual(["recovered"]);
    expect(await events(exhausted)).toEqual(["recovered"]);
    expect(await events(queued)).toEqual(["recovered"]);
    expect(await events(claimedNotStarted)).toEqual([]);
    expect(await events(other)).toEqual([]);
    // the dead attempt's row: its number, its start (from the task row), its duration up to the
    // instance's last heartbeat, written by the rescuer and naming the dead instance
    const [rec] = await sql<{ instance_id: string; attempt: number; message: string; duration_ms: number; from_task_start: boolean }[]>`
      select l.instance_id, l.attempt, l.message, l.duration_ms, l.started_at = t.started_at as from_task_start
      from baton.task_logs l join baton.tasks t on t.id = l.task_id where l.task_id = ${retry} and l.event = 'recovered'`;
    expect(rec.instance_id).toBe("rescuer");
    expect(rec.attempt).toBe(1);
    expect(rec.message).toMatch(/dead-1 stopped heartbeating/);
    expect(rec.duration_ms).toBeGreaterThanOrEqual(0);
    expect(rec.from_task_start).toBe(true);

    // exactly one fresh, unlocked job per pending/retrying task; none for terminal ones
    for (const id of [retry, claimedNotStarted, queued]) {
      const jobs = await jobsOf(id);
      expect(jobs, `jobs of ${id}`).toHaveLength(1);
      expect(jobs[0].locked_by).toBeNull();
      expect(jobs[0].attempts).toBe(0);
      expect(jobs[0].id).not.toBe(oldJobIds.get(id));
    }
    expect(await jobsOf(exhausted)).toHaveLength(0);
    expect(await jobsOf(finished)).toHaveLength(0);
    expect(await jobsOf(other)).toMatchObject([{ locked_by: "pool-live" }]);
    const [left] = await sql<{ n: number }[]>`select count(*)::int as n from graphile_worker.jobs where locked_by = 'pool-dead' or key is null`;
    expect(left.n).toBe(0);
    const queues = await sql<{ locked_by: string | null }[]>`select locked_by from graphile_worker._private_job_queues where queue_name = 'serial-q'`;
    expect(queues).toEqual([{ locked_by: null }]);

    const [inst] = await sql<{ state: string; recovered_by: string; tasks_held: number; jobs_locked: number }[]>`
      select state, recovered_by, tasks_held, jobs_locked from baton.instance_health where id = 'dead-1'`;
    expect(inst).toEqual({ state: "recovered", recovered_by: "rescuer", tasks_held: 0, jobs_locked: 0 });
    const [live] = await sql<{ state: string; tasks_held: number; jobs_locked: number }[]>`
      select state, tasks_held, jobs_locked from baton.instance_health where id = 'live-1'`;
    expect(live).toEqual({ state: "alive", tasks_held: 1, jobs_locked: 1 });

    // processed once: a second pass finds nothing
    expect(await sql`select * from baton.recover_dead_instances('rescuer')`).toHaveLength(0);
  });

  it("leaves a live instance alone unless forced", async () => {
    await addInstance("alive-2", "pool-alive-2", { silentForMs: 0, deadAfterMs: 600_000 });
    const id = await enqueue();
    await claim(id, "alive-2", "pool-alive-2", { start: true });
    expect(await sql`select * from baton.recover_instance('alive-2', 'rescuer')`).toHaveLength(0);
    expect(await statusOf(id)).toBe("processing");
    const forced = await sql`select * from baton.recover_instance('alive-2', null, true)`;
    expect(forced).toHaveLength(1);
    expect(await statusOf(id)).toBe("retrying");
    const [inst] = await sql<{ recovered_by: string }[]>`select recovered_by from baton.instances where id = 'alive-2'`;
    expect(inst.recovered_by).toMatch(/^sql:/);
  });

  it("lets only one of two concurrent rescuers take an instance over, without waiting", async () => {
    await addInstance("dead-3", "pool-dead-3", { silentForMs: 60_000 });
    const id = await enqueue();
    await claim(id, "dead-3", "pool-dead-3", { start: true });
    let second: readonly unknown[] = [];
    await sql.begin(async (tx) => {
      const first = await tx`select * from baton.recover_instance('dead-3', 'rescuer-a')`;
      expect(first).toHaveLength(1);
      // another connection, while the first transaction still holds the instance row
      second = await sql`select * from baton.recover_instance('dead-3', 'rescuer-b')`;
    });
    expect(second).toHaveLength(0);
    expect(await events(id)).toEqual(["recovered"]);
    const [inst] = await sql<{ recovered_by: string }[]>`select recovered_by from baton.instances where id = 'dead-3'`;
    expect(inst.recovered_by).toBe("rescuer-a");
  });

  it("takes over a previous process's work when an instance restarts under the same id", async () => {
    await addInstance("same-4", "pool-old-4", { silentForMs: 100, deadAfterMs: 600_000 });
    const id = await enqueue();
    await claim(id, "same-4", "pool-old-4", { start: true });
    await registerInstance(tdb.database.db, { id: "same-4", host: "test", port: null, pid: 2, version: "test", concurrency: 10 });
    expect(await statusOf(id)).toBe("retrying");
    expect(await events(id)).toEqual(["recovered"]);
    const jobs = await jobsOf(id);
    expect(jobs).toHaveLength(1);
    expect(jobs[0].locked_by).toBeNull();
    const [left] = await sql<{ n: number }[]>`select count(*)::int as n from graphile_worker.jobs where locked_by = 'pool-old-4'`;
    expect(left.n).toBe(0);
  });
});

describe("fencing in a running instance", () => {
  let svc: Service;
  const aborted: { id: number; reason: unknown }[] = [];

  beforeAll(async () => {
    svc = await startTestService(tdb.url, { HEARTBEAT_INTERVAL_MS: "200", INSTANCE_DEAD_AFTER_MS: "2000", WORKER_CONCURRENCY: "4" });
    const worker = svc.worker!;
    const abort = worker.abort.bind(worker);
    worker.abort = (id: number, reason?: Error) => {
      aborted.push({ id, reason });
      return abort(id, reason);
    };
  });
  afterAll(async () => {
    await svc?.stop();
  });

  const startLong = async () => {
    const r = await api(svc.url, "POST", "/api/tasks", { type: "simulate", payload: { durationMs: 60_000 }, maxAttempts: 5 });
    expect(r.status).toBe(201);
    await waitFor(async () => (await statusOf(r.body.id)) === "processing" && svc.worker!.runningIds().includes(r.body.id), {
      what: "task running",
    });
    return r.body.id as number;
  };

  it("aborts an attempt another instance took over, and re-opens its own row", async () => {
    const id = await startLong();
    const me = svc.config.INSTANCE_ID;
    // Another instance declared this one dead (it was paused or cut off, say) and at once
    // claimed the retry itself, all before this process looked again.
    await sql.begin(async (tx) => {
      const moved = await tx<{ task_id: number }[]>`select task_id from baton.recover_instance(${me}, 'rescuer', true)`;
      expect(moved.map((m) => m.task_id)).toContain(id);
      await tx`update graphile_worker._private_jobs set locked_at = now(), locked_by = 'pool-rescuer' where key = ${`baton:${id}`}`;
      await tx`update baton.tasks set status = 'processing', attempts = attempts + 1, locked_by = 'rescuer', started_at = now() where id = ${id}`;
    });
    await waitFor(() => aborted.some((a) => a.id === id && a.reason instanceof TakenOverError), { what: "fence abort" });
    await waitFor(() => !svc.worker!.runningIds().includes(id), { what: "handler gone" });
    await waitFor(async () => (await sql`select 1 from baton.instances where id = ${me} and stopped_at is null`).length === 1, {
      what: "row re-opened",
    });
    // the aborted attempt's outcome changed nothing: the rescuer's attempt owns the task
    const [t] = await sql<{ status: string; locked_by: string; attempts: number }[]>`select status, locked_by, attempts from baton.tasks where id = ${id}`;
    expect(t).toEqual({ status: "processing", locked_by: "rescuer", attempts: 2 });
    expect(await events(id)).toEqual(["recovered"]);
  });

  it("aborts a handler whose task was canceled without a NOTIFY reaching it", async () => {
    const id = await startLong();
    await sql`update baton.tasks set status = 'canceled', locked_by = null, finished_at = now() where id = ${id}`;
    await waitFor(() => aborted.some((a) => a.id === id && a.reason instanceof CanceledError), { what: "cancel abort" });
    await waitFor(() => !svc.worker!.runningIds().includes(id), { what: "handler gone" });
  });
});
