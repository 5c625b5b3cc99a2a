/**
 * Queue limits across real processes (DESIGN.md invariant 9): concurrency across three
 * instances, a rate limit across two, and a pause that stops new starts on every instance.
 *
 * What ran when is read from the outcome rows (task_logs: started_at and duration_ms of each
 * attempt), which every instance writes for its own attempts.
 */
import { sql } from "kysely";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDb, type TestDb } from "./helpers/db.js";
import { type Instance, spawnInstance } from "./helpers/process.js";
import { api, waitFor } from "./helpers/service.js";

let tdb: TestDb;
let a: Instance;
let b: Instance;
let c: Instance;

beforeAll(async () => {
  tdb = await createTestDb();
  const env = { WORKER_CONCURRENCY: "10" };
  [a, b, c] = await Promise.all([spawnInstance(tdb.url, "queues-a", env), spawnInstance(tdb.url, "queues-b", env), spawnInstance(tdb.url, "queues-c", env)]);
}, 120_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop(), c?.stop()]);
  await tdb?.drop();
});

interface Attempt {
  taskId: number;
  instanceId: string;
  start: number;
  end: number;
  event: string;
}

async function attempts(queue: string): Promise<Attempt[]> {
  const { rows } = await sql<{ taskId: number; instanceId: string; startedAt: Date; durationMs: number; event: string }>`
    select l.task_id, l.instance_id, l.started_at, l.duration_ms, l.event
    from baton.task_logs l join baton.tasks t on t.id = l.task_id
    where t.queue = ${queue} and l.started_at is not null
    order by l.started_at`.execute(tdb.database.db);
  return rows.map((r) => ({
    taskId: Number(r.taskId),
    instanceId: r.instanceId,
    start: +new Date(r.startedAt),
    end: +new Date(r.startedAt) + r.durationMs,
    event: r.event,
  }));
}

async function completed(queue: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from baton.tasks where queue = ${queue} and status = 'completed'`.execute(tdb.database.db);
  return rows[0].n;
}

/** The most intervals open at once (an end at the same instant as a start does not overlap it). */
function maxOverlap(xs: Attempt[]): number {
  const edges = xs.flatMap((x) => [
    [x.start, 1],
    [x.end, -1],
  ]);
  edges.sort((p, q) => p[0] - q[0] || p[1] - q[1]);
  let open = 0;
  let most = 0;
  for (const [, d] of edges) {
    open += d;
    most = Math.max(most, open);
  }
  return most;
}

async function batch(base: string, queue: string, n: number, payload: Record<string, unknown>): Promise<number[]> {
  const tasks = Array.from({ length: n }, () => ({ type: "simulate", queue, payload }));
  const r = await api(base, "POST", "/api/tasks/batch", { tasks });
  expect(r.status).toBe(200);
  return r.body.ids;
}

it("concurrency 3 across three instances: 60 tasks of 200 ms never run more than 3 at once, and the queue stays busy", async () => {
  expect((await api(a.url, "PUT", "/api/queues/heavy-exports", { concurrency: 3 })).status).toBe(200);
  // created through all three ports, so every instance inserts, admits and runs
  await Promise.all([a, b, c].map((x) => batch(x.url, "heavy-exports", 20, { durationMs: 200 })));
  await waitFor(async () => (await completed("heavy-exports")) === 60, { timeoutMs: 120_000, what: "60 tasks completed" });
  const xs = await attempts("heavy-exports");
  expect(xs).toHaveLength(60);
  expect(xs.every((x) => x.event === "succeeded")).toBe(true);
  expect(maxOverlap(xs)).toBeLessThanOrEqual(3);
  expect(new Set(xs.map((x) => x.instanceId)).size).toBeGreaterThan(1);
  // Work-conserving: over the run, on average close to 3 tasks were running (a slot that waited
  // for a poll would leave ~1 s gaps and drag this far below 3).
  const span = Math.max(...xs.map((x) => x.end)) - Math.min(...xs.map((x) => x.start));
  const busy = xs.reduce((s, x) => s + (x.end - x.start), 0) / span;
  console.log(`heavy-exports: span ${span} ms, average running ${busy.toFixed(2)} of 3`);
  expect(busy).toBeGreaterThan(2);
}, 180_000);

it("rate limit {limit: 5, perSeconds: 1} across two instances: no 1 s window holds more than 5 starts, nothing fails", async () => {
  await c.stop();
  expect((await api(a.url, "PUT", "/api/queues/partner-api", { concurrency: 100, rateLimit: { limit: 5, perSeconds: 1 } })).status).toBe(200);
  const t0 = Date.now();
  await Promise.all([batch(a.url, "partner-api", 15, { durationMs: 20 }), batch(b.url, "partner-api", 15, { durationMs: 20 })]);
  await waitFor(async () => (await completed("partner-api")) === 30, { timeoutMs: 120_000, what: "30 rate-limited tasks completed" });
  const took = Date.now() - t0;
  const xs = await attempts("partner-api");
  expect(xs).toHaveLength(30);
  expect(xs.every((x) => x.event === "succeeded")).toBe(true);
  const starts = xs.map((x) => x.start).sort((p, q) => p - q);
  let most = 0;
  for (let i = 0; i < starts.length; i++) {
    let j = i;
    while (j < starts.length && starts[j] < starts[i] + 1000) j++;
    most = Math.max(most, j - i);
  }
  expect(most).toBeLessThanOrEqual(5);
  // 30 starts at 5 per second cannot spread over less than 5 s
  expect(starts[29] - starts[0]).toBeGreaterThanOrEqual(5000);
  expect(new Set(xs.map((x) => x.instanceId)).size).toBe(2);
  console.log(`partner-api: 30 tasks in ${took} ms (starts over ${starts[29] - starts[0]} ms; the limit allows no less than 5000)`);
}, 180_000);

it("pause during a run: no task starts after the pause on any instance; running ones finish; after resume everything completes", async () => {
  expect((await api(a.url, "PUT", "/api/queues/customer-42", { concurrency: 2 })).status).toBe(200);
  await batch(a.url, "customer-42", 20, { durationMs: 300 });
  await waitFor(async () => (await completed("customer-42")) >= 3, { timeoutMs: 60_000, what: "a few tasks done" });
  const paused = await api(b.url, "POST", "/api/queues/customer-42/pause");
  expect(paused.status).toBe(200);
  const { rows } = await sql<{ at: Date }>`select clock_timestamp() as at`.execute(tdb.database.db);
  const pausedAt = +new Date(rows[0].at);
  // the running ones finish; then nothing of the queue runs, for well over a second
  await waitFor(
    async () => {
      const r = await api(a.url, "GET", "/api/queues/customer-42");
      return r.body.running === 0 && r.body.pending === 0;
    },
    { timeoutMs: 30_000, what: "the running tasks finished" },
  );
  const doneAtPause = await completed("customer-42");
  expect(doneAtPause).toBeLessThan(20);
  await new Promise((r) => setTimeout(r, 2000)); // a window in which a start would have to show
  const during = await attempts("customer-42");
  expect(during.filter((x) => x.start > pausedAt)).toEqual([]);
  expect(during.every((x) => x.event === "succeeded")).toBe(true);
  expect(await completed("customer-42")).toBe(doneAtPause);
  const q = await api(b.url, "GET", "/api/queues/customer-42");
  expect(q.body).toMatchObject({ paused: true, waiting: 20 - doneAtPause, running: 0 });

  expect((await api(a.url, "POST", "/api/queues/customer-42/resume")).status).toBe(200);
  await waitFor(async () => (await completed("customer-42")) === 20, { timeoutMs: 60_000, what: "all 20 after resume" });
  const xs = await attempts("customer-42");
  expect(maxOverlap(xs)).toBeLessThanOrEqual(2);
}, 180_000);
