/**
 * The task lifecycle with a running worker, in-process, against real Postgres: priority, serial
 * queues, retries with backoff against a real local HTTP server, cancel of a running handler,
 * timeouts, and the job/log invariants of DESIGN.md.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
async function logs(id: number) {
  const { rows } = await sql<{ event: string; attempt: number; instanceId: string; durationMs: number | null; createdAt: Date }>`
    select event, attempt, instance_id, duration_ms, created_at from baton.task_logs where task_id = ${id} order by id`.execute(db());
  return rows;
}

describe("execution", () => {
  it("runs a simulate task, marks its conversations processed, one started and one outcome row", async () => {
    const t = await api(svc.url, "POST", "/api/tasks", { type: "simulate", payload: { durationMs: 50 }, conversations: [{ content: "a" }, { content: "b" }] });
    const done = await until(t.body.id, ["completed"]);
    expect(done.attempts).toBe(1);
    expect(done.lockedBy).toBeNull();
    expect(done.result).toMatchObject({ durationMs: 50, conversationsProcessed: 2 });
    expect(done.conversations.map((c: { status: string }) => c.status)).toEqual(["processed", "processed"]);
    const l = await logs(t.body.id);
    expect(l.map((r) => r.event)).toEqual(["started", "succeeded"]);
    expect(l.every((r) => r.instanceId === svc.config.INSTANCE_ID)).toBe(true);
    expect(l[1].durationMs).toBeGreaterThanOrEqual(50);
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
    expect(events).toEqual(["1:started", "1:retry_scheduled", "2:started", "2:retry_scheduled", "3:started", "3:succeeded"]);
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
    // wait past its run_at plus a poll: it must still be canceled with no started row
    await new Promise((r) => setTimeout(r, 4500));
    const after = await task(t.body.id);
    expect(after.status).toBe("canceled");
    expect((await logs(t.body.id)).map((l) => l.event)).toEqual(["canceled"]);
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
    expect(svc.worker!.runningIds()).not.toContain(t.body.id);
    // wait out the original 10 s: the handler must never complete it
    await new Promise((r) => setTimeout(r, 1000));
    const after = await task(t.body.id);
    expect(after.status).toBe("canceled");
    const events = (await logs(t.body.id)).map((l) => l.event);
    expect(events).toEqual(["started", "canceled"]);
  });

  it("cancelling a completed task gives 409", async () => {
    const t = await api(svc.url, "POST", "/api/tasks", { type: "noop" });
    await until(t.body.id, ["completed"]);
    const c = await api(svc.url, "POST", `/api/tasks/${t.body.id}/cancel`);
    expect(c.status).toBe(409);
    expect(c.headers.get("content-type")).toContain("application/problem+json");
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
    const { rows } = await sql<{ taskId: number; s: Date; e: Date }>`
      select s.task_id, s.created_at as s, e.created_at as e
      from baton.task_logs s join baton.task_logs e on e.task_id = s.task_id and e.attempt = s.attempt and e.event = 'succeeded'
      where s.event = 'started' and s.task_id = any(${ids}::bigint[]) order by s.created_at`.execute(db());
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

  it("every finished attempt has exactly one started row and one outcome row", async () => {
    const { rows } = await sql<{ taskId: number; attempt: number; started: number; outcomes: number }>`
      select task_id, attempt,
        count(*) filter (where event = 'started')::int as started,
        count(*) filter (where event in ('succeeded', 'failed', 'retry_scheduled', 'canceled', 'recovered'))::int as outcomes
      from baton.task_logs where attempt > 0 group by task_id, attempt`.execute(db());
    expect(rows.length).toBeGreaterThan(5);
    const broken = rows.filter((r) => r.started !== 1 || r.outcomes !== 1);
    expect(broken).toEqual([]);
  });
});
