/**
 * The task lifecycle with a running worker, in-process, against real Postgres: priority, serial
 * queues, retries with backoff against a real local HTTP server, cancel of a running handler,
 * timeouts, and the job/log invariants of DESIGN.md.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { returnTasks, startTasks } from "../src/db/queries/tasks.js";
import type { Service } from "../src/service.js";
import { createTestDb, type TestDb } from "./helpers/db.js";
import { api, startTestService, waitFor } from "./helpers/service.js";

let tdb: TestDb;
let svc: Service;
let hook: http.Server;
let hookUrl = "";
/** Per path: how many times it was hit, and what to answer next. */
const hits = new Map<string, number[]>();
const script = new Map<string, number[]>();

beforeAll(async () => {
  tdb = await createTestDb();
  svc = await startTestService(tdb.url, { WORKER_CONCURRENCY: "10" });
  hook = http.createServer((req, res) => {
    const path = req.url ?? "/";
    const list = hits.get(path) ?? [];
    list.push(Date.now());
    hits.set(path, list);
    const plan = script.get(path) ?? [200];
    const status = plan[Math.min(list.length - 1, plan.length - 1)];
    req.resume();
    res.writeHead(status, { "content-type": "text/plain" }).end(`answer ${list.length}: ${status}`);
  });
  await new Promise<void>((r) => hook.listen(0, "127.0.0.1", r));
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await svc?.stop();
  await tdb?.drop();
  await new Promise((r) => hook?.close(r));
});

const db = () => tdb.database.db;

async function task(id: number) {
  return (await api(svc.url, "GET", `/api/tasks/${id}`)).body;
}
async function until(id: number, statuses: string[], timeoutMs = 30_000) {
  return waitFor(
    async () => {
      const t = await task(id);
      return statuses.includes(t.status) ? t : null;
    },
    { timeoutMs, what: `task ${id} in ${statuses}` },
  );
}
interface LogRow {
  event: string;
  attempt: number;
  instanceId: string | null;
  startedAt: Date | null;
  durationMs: number | null;
  createdAt: Date;
}
async function logs(id: number): Promise<LogRow[]> {
  const { rows } = await sql<LogRow>`
    select event, attempt, instance_id, started_at, duration_ms, created_at from baton.task_logs where task_id = ${id} order by id`.execute(db());
  return rows;
}
async function jobsOf(id: number): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from graphile_worker.jobs where key = ${`baton:${id}`}`.execute(db());
  return rows[0].n;
}
const OUTCOMES = ["succeeded", "failed", "retry_scheduled", "canceled", "recovered", "returned"];
/** The outcome rows of a task: invariant 3 says one per attempt. */
async function outcomes(id: number): Promise<LogRow[]> {
  return (await logs(id)).filter((l) => OUTCOMES.includes(l.event));
}
/** An attempt's outcome row: its number, the instance, its start (before the row) and duration. */
function expectAttemptOutcome(row: LogRow | undefined, want: { event: string; attempt: number; instanceId: string }) {
  expect(row).toMatchObject(want);
  expect(row!.startedAt).toBeInstanceOf(Date);
  expect(+row!.startedAt!).toBeLessThanOrEqual(+row!.createdAt);
  expect(row!.durationMs).toEqual(expect.any(Number));
  expect(row!.durationMs).toBeGreaterThanOrEqual(0);
}
/** A task claimed by `instanceId` through the worker's own claim query, without running it. */
async function claimedBy(instanceId: string, body: Record<string, unknown> = {}): Promise<number> {
  const t = await api(svc.url, "POST", "/api/tasks", { type: "noop", runAt: "2030-01-01T00:00:00Z", ...body });
  expect(t.status).toBe(201);
  const started = await startTasks(db(), [t.body.id], instanceId);
  expect(started).toHaveLength(1);
  return t.body.id;
}

describe("execution", () => {
  it("runs a simulate task, marks its conversations processed, one outcome row carrying the attempt's start", async () => {
    const t = await api(svc.url, "POST", "/api/tasks", { type: "simulate", payload: { durationMs: 50 }, conversations: [{ content: "a" }, { content: "b" }] });
    const done = await until(t.body.id, ["completed"]);
    expect(done.attempts).toBe(1);
    expect(done.lockedBy).toBeNull();
    expect(done.result).toMatchObject({ durationMs: 50, conversationsProcessed: 2 });
    expect(done.conversations.map((c: { status: string }) => c.status)).toEqual(["processed", "processed"]);
    const l = await logs(t.body.id);
    // no `started` row (invariant 3): the outcome row carries the start the task row had
    expect(l.map((r) => r.event)).toEqual(["succeeded"]);
    expectAttemptOutcome(l[0], { event: "succeeded", attempt: 1, instanceId: svc.config.INSTANCE_ID });
    expect(l[0].durationMs).toBeGreaterThanOrEqual(50);
    expect(+l[0].startedAt!).toBe(+new Date(done.startedAt));
  });

  it("records locked_by while processing", async () => {
    const t = await api(svc.url, "POST", "/api/tasks", { type: "simulate", payload: { durationMs: 1500 } });
    const running = await until(t.body.id, ["processing"]);
    expect(running.lockedBy).toBe(svc.config.INSTANCE_ID);
    await until(t.body.id, ["completed"]);
  });
});

describe("retries", () => {
  it("a webhook that fails twice then succeeds ends completed after 3 attempts with growing gaps", async () => {
    script.set("/flaky", [500, 503, 200]);
    const t = await api(svc.url, "POST", "/api/tasks", {
      type: "http",
      payload: { url: `${hookUrl}/flaky`, method: "POST", body: { content: "hi" } },
      maxAttempts: 5,
      backoff: { baseMs: 400, maxMs: 60_000 },
    });
    const done = await until(t.body.id, ["completed"]);
    expect(done.attempts).toBe(3);
    expect(done.result.status).toBe(200);
    const at = hits.get("/flaky")!;
    expect(at).toHaveLength(3);
    const gap1 = at[1] - at[0];
    const gap2 = at[2] - at[1];
    // backoff: attempt 1 waits 200–400 ms, attempt 2 waits 400–800 ms (equal jitter)
    expect(gap1).toBeGreaterThanOrEqual(200);
    expect(gap2).toBeGreaterThan(gap1);
    const events = (await logs(t.body.id)).map((r) => `${r.attempt}:${r.event}`);
    expect(events).toEqual(["1:retry_scheduled", "2:retry_scheduled", "3:succeeded"]);
  });

  it("a webhook that always fails ends failed after maxAttempts with lastError set", async () => {
    script.set("/down", [500]);
    const t = await api(svc.url, "POST", "/api/tasks", {
      type: "http",
      payload: { url: `${hookUrl}/down` },
      maxAttempts: 3,
      backoff: { baseMs: 100, maxMs: 1000 },
    });
    const done = await until(t.body.id, ["failed"]);
    expect(done.attempts).toBe(3);
    expect(done.lastError).toContain("HTTP 500");
    expect(hits.get("/down")).toHaveLength(3);
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from graphile_worker.jobs where key = ${`baton:${t.body.id}`}`.execute(db());
    expect(rows[0].n).toBe(0);
  });

  it("a 4xx fails at once without retrying", async () => {
    script.set("/gone", [404]);
    const t = await api(svc.url, "POST", "/api/tasks", { type: "http", payload: { url: `${hookUrl}/gone` }, maxAttempts: 5 });
    const done = await until(t.body.id, ["failed"]);
    expect(done.attempts).toBe(1);
    expect(done.lastError).toContain("HTTP 404");
  });

  it("a timeout aborts the handler and counts as a failed attempt", async () => {
    const t = await api(svc.url, "POST", "/api/tasks", { type: "simulate", payload: { durationMs: 20_000 }, timeoutMs: 200, maxAttempts: 1 });
    const done = await until(t.body.id, ["failed"]);
    expect(done.lastError).toContain("timed out after 200 ms");
  });
});

describe("cancel", () => {
  it("a pending task becomes canceled and never runs", async () => {
    const t = await api(svc.url, "POST", "/api/tasks", { type: "simulate", payload: { durationMs: 10 }, runAt: new Date(Date.now() + 3000).toISOString() });
    const c = await api(svc.url, "POST", `/api/tasks/${t.body.id}/cancel`);
    expect(c.body.status).toBe("canceled");
    // its job went in the cancel's transaction, so nothing can claim it at its run_at
    expect(await jobsOf(t.body.id)).toBe(0);
    const after = await task(t.body.id);
    expect(after.status).toBe("canceled");
    expect(after.attempts).toBe(0);
    expect(after.startedAt).toBeNull();
    // not an attempt's outcome: no attempt ran, so attempt 0 and no start or duration
    expect(await logs(t.body.id)).toMatchObject([
      { event: "canceled", attempt: 0, instanceId: svc.config.INSTANCE_ID, startedAt: null, durationMs: null },
    ]);
  });

  it("a processing 10-second task becomes canceled within 2 s; its handler is aborted; no completed row", async () => {
    const t = await api(svc.url, "POST", "/api/tasks", { type: "simulate", payload: { durationMs: 10_000 } });
    await until(t.body.id, ["processing"]);
    const aborted = new Promise<number>((resolve) => {
      const on = (e: { taskId: number; outcome: string }) => {
        if (e.taskId === t.body.id && e.outcome === "canceled") {
          svc.worker!.events.off("attempt", on);
          resolve(Date.now());
        }
      };
      svc.worker!.events.on("attempt", on);
    });
    const t0 = Date.now();
    const c = await api(svc.url, "POST", `/api/tasks/${t.body.id}/cancel`);
    expect(c.status).toBe(200);
    expect(c.body.status).toBe("canceled");
    const abortedAt = await aborted;
    expect(abortedAt - t0).toBeLessThan(2000);
    // the attempt event is emitted just before the job's slot is released (a microtask later)
    await waitFor(() => !svc.worker!.runningIds().includes(t.body.id), { what: "slot released" });
    // the aborted handler's slot is free and its job is gone: nothing can complete or rerun it
    expect(await jobsOf(t.body.id)).toBe(0);
    const after = await task(t.body.id);
    expect(after.status).toBe("canceled");
    const events = (await logs(t.body.id)).map((l) => l.event);
    expect(events).toEqual(["canceled"]);
    expectAttemptOutcome((await outcomes(t.body.id))[0], { event: "canceled", attempt: 1, instanceId: svc.config.INSTANCE_ID });
  });

  it("a retrying task (waiting out its backoff) becomes canceled, loses its job and never runs again", async () => {
    script.set("/retry-then-cancel", [500]);
    const t = await api(svc.url, "POST", "/api/tasks", {
      type: "http",
      payload: { url: `${hookUrl}/retry-then-cancel` },
      maxAttempts: 3,
      backoff: { baseMs: 60_000, maxMs: 60_000 },
    });
    const retrying = await until(t.body.id, ["retrying"]);
    expect(retrying.attempts).toBe(1);
    expect(await jobsOf(t.body.id)).toBe(1);
    const c = await api(svc.url, "POST", `/api/tasks/${t.body.id}/cancel`);
    expect(c.status).toBe(200);
    expect(c.body).toMatchObject({ status: "canceled", attempts: 1, lockedBy: null });
    expect(await jobsOf(t.body.id)).toBe(0);
    // attempt 1 keeps its one outcome (retry_scheduled); the cancel ended no attempt
    expect((await logs(t.body.id)).map((l) => `${l.attempt}:${l.event}`)).toEqual(["1:retry_scheduled", "0:canceled"]);
    expect(hits.get("/retry-then-cancel")).toHaveLength(1);
  });

  it("PATCH and DELETE of a processing task answer 409, and it runs on to completion", async () => {
    const t = await api(svc.url, "POST", "/api/tasks", { type: "simulate", title: "busy", payload: { durationMs: 1500 } });
    await until(t.body.id, ["processing"]);
    for (const [method, body] of [
      ["PATCH", { title: "renamed" }],
      ["DELETE", undefined],
    ] as const) {
      const r = await api(svc.url, method, `/api/tasks/${t.body.id}`, body);
      expect(r.status, method).toBe(409);
      expect(r.headers.get("content-type")).toContain("application/problem+json");
      expect(r.body.detail, method).toContain("processing");
    }
    const done = await until(t.body.id, ["completed"]);
    expect(done.title).toBe("busy");
  });

  it("cancelling a completed task gives 409", async () => {
    const t = await api(svc.url, "POST", "/api/tasks", { type: "noop" });
    await until(t.body.id, ["completed"]);
    const c = await api(svc.url, "POST", `/api/tasks/${t.body.id}/cancel`);
    expect(c.status).toBe(409);
    expect(c.headers.get("content-type")).toContain("application/problem+json");
  });
});

describe("outcome rows carry attempt, instance, start and duration on every path (invariant 3)", () => {
  it("SQL cancel_task of a task running elsewhere: the row names the instance it ran on", async () => {
    const id = await claimedBy("ran-here");
    await sql`select baton.cancel_task(${id})`.execute(db());
    expect(await outcomes(id)).toHaveLength(1);
    expectAttemptOutcome((await outcomes(id))[0], { event: "canceled", attempt: 1, instanceId: "ran-here" });
  });

  it("a bulk status report that ends a running attempt is that attempt's outcome", async () => {
    const done = await claimedBy("reported-run");
    const failed = await claimedBy("reported-run");
    const r = await api(svc.url, "POST", "/api/tasks/status", { completed: [done], failed: [failed] });
    expect(r.body.updated).toBe(2);
    expectAttemptOutcome((await outcomes(done))[0], { event: "succeeded", attempt: 1, instanceId: "reported-run" });
    expectAttemptOutcome((await outcomes(failed))[0], { event: "failed", attempt: 1, instanceId: "reported-run" });
  });

  it("a bulk status report of a task that is not running ends no attempt (attempt 0)", async () => {
    const id = await claimedBy("retried-once");
    await sql`update baton.tasks set status = 'retrying', locked_by = null where id = ${id}`.execute(db());
    await sql`insert into baton.task_logs (task_id, attempt, event, instance_id, started_at, duration_ms)
              select id, 1, 'retry_scheduled', 'retried-once', started_at, 1 from baton.tasks where id = ${id}`.execute(db());
    await api(svc.url, "POST", "/api/tasks/status", { failed: [id] });
    const rows = await outcomes(id);
    expect(rows.filter((l) => l.attempt === 1)).toHaveLength(1);
    expect(rows.at(-1)).toMatchObject({ event: "failed", attempt: 0, instanceId: svc.config.INSTANCE_ID, startedAt: null, durationMs: null });
  });

  it("crash recovery writes a recovered row with the attempt's start and the rescuer", async () => {
    await sql`insert into baton.instances (id, host, pid, version, concurrency) values ('crashed-1', 'h', 1, 'test', 1)`.execute(db());
    const id = await claimedBy("crashed-1");
    await sql`select * from baton.recover_instance('crashed-1', 'rescuer-1', true)`.execute(db());
    expectAttemptOutcome((await outcomes(id))[0], { event: "recovered", attempt: 1, instanceId: "rescuer-1" });
  });

  it("shutdown's return writes a returned row with the attempt's start and duration", async () => {
    const id = await claimedBy("shutting-down");
    expect(await returnTasks(db(), [id], "shutting-down", "instance shut down before the attempt finished")).toBe(1);
    expectAttemptOutcome((await outcomes(id))[0], { event: "returned", attempt: 1, instanceId: "shutting-down" });
    // handed back as pending with a job of its own, so this instance's running worker takes it
    // and runs it to completion (reading the status right away would race that claim)
    await until(id, ["completed"]);
    expect((await outcomes(id)).map((o) => o.event)).toEqual(["returned", "succeeded"]);
  });
});

describe("queues", () => {
  it("tasks that share a queue never overlap in time", async () => {
    const r = await api(svc.url, "POST", "/api/tasks/batch", {
      tasks: Array.from({ length: 8 }, () => ({ type: "simulate", queue: "serial-q", payload: { durationMs: 80 } })),
    });
    const ids: number[] = r.body.ids;
    await waitFor(async () => {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from baton.tasks where id = any(${ids}::bigint[]) and status = 'completed'`.execute(db());
      return rows[0].n === ids.length;
    });
    // each attempt from its start (on its outcome row) to its outcome row's time
    const { rows } = await sql<{ taskId: number; s: Date; e: Date }>`
      select task_id, started_at as s, created_at as e from baton.task_logs
      where event = 'succeeded' and task_id = any(${ids}::bigint[]) order by started_at`.execute(db());
    expect(rows).toHaveLength(8);
    for (let i = 1; i < rows.length; i++) {
      expect(+rows[i].s).toBeGreaterThanOrEqual(+rows[i - 1].e);
    }
  });
});

describe("invariants", () => {
  it("every pending or retrying task has exactly one job, and no job exists without its task", async () => {
    await api(svc.url, "POST", "/api/tasks/batch", {
      tasks: [
        ...Array.from({ length: 20 }, () => ({ type: "noop", runAt: "2030-01-01T00:00:00Z" })),
        ...Array.from({ length: 5 }, () => ({ type: "noop", hold: true })),
      ],
    });
    const { rows } = await sql<{ bad: number; orphans: number; terminalWithJob: number }>`
      select
        (select count(*) from baton.tasks t where t.status in ('pending', 'retrying')
           and (select count(*) from graphile_worker.jobs j where j.key = 'baton:' || t.id) <> 1)::int as bad,
        (select count(*) from graphile_worker.jobs j where j.task_identifier = 'baton:run' and j.key is not null
           and not exists (select 1 from baton.tasks t where 'baton:' || t.id = j.key))::int as orphans,
        (select count(*) from baton.tasks t where t.status in ('backlog', 'completed', 'failed', 'canceled')
           and exists (select 1 from graphile_worker.jobs j where j.key = 'baton:' || t.id))::int as terminal_with_job`.execute(db());
    expect(rows[0]).toEqual({ bad: 0, orphans: 0, terminalWithJob: 0 });
  });

  it("every finished attempt has exactly one outcome row, which carries its instance, start and duration, and no started row", async () => {
    const { rows } = await sql<{ taskId: number; attempt: number; started: number; outcomes: number; complete: number }>`
      select task_id, attempt,
        count(*) filter (where event = 'started')::int as started,
        count(*) filter (where event = any(${OUTCOMES}::text[]))::int as outcomes,
        count(*) filter (where event = any(${OUTCOMES}::text[]) and instance_id is not null
                           and started_at is not null and duration_ms >= 0)::int as complete
      from baton.task_logs l where attempt > 0 group by task_id, attempt`.execute(db());
    expect(rows.length).toBeGreaterThan(5);
    const events = new Set((await sql<{ event: string }>`select distinct event from baton.task_logs where attempt > 0`.execute(db())).rows.map((r) => r.event));
    expect([...events].sort()).toEqual([...OUTCOMES].sort());
    const broken = rows.filter((r) => r.started !== 0 || r.outcomes !== 1 || r.complete !== 1);
    expect(broken).toEqual([]);
    // every attempt of a task has its own start: attempts 1..n start in order
    const { rows: order } = await sql<{ n: number }>`
      select count(*)::int as n from baton.task_logs a join baton.task_logs b
        on b.task_id = a.task_id and b.attempt = a.attempt + 1
      where a.event = any(${OUTCOMES}::text[]) and b.event = any(${OUTCOMES}::text[]) and b.started_at < a.started_at`.execute(db());
    expect(order[0].n).toBe(0);
  });
});
