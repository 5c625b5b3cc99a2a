/**
 * Retention: 100,000 old completed tasks (with conversations and logs) are pruned in small
 * batches while tasks are created through the API. Every create succeeds and keeps committing
 * while the prune runs; exactly the right rows go. The latency figures are printed and written to
 * test-artifacts/retention-numbers.json for docs/scaling.md; they are not asserted.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sql } from "../src/db/client.js";
import { createLogger } from "../src/log.js";
import { Pruner } from "../src/retention/pruner.js";
import type { Service } from "../src/service.js";
import { createTestDb, type TestDb } from "./helpers/db.js";
import { api, startTestService, waitFor } from "./helpers/service.js";

const OLD = 100_000;
let tdb: TestDb;
let svc: Service;
let sql: Sql;

beforeAll(async () => {
  tdb = await createTestDb();
  sql = tdb.database.sql;
  svc = await startTestService(tdb.url, { PRUNE_INTERVAL_MS: "0", WORKER_CONCURRENCY: "4" });
});
afterAll(async () => {
  await svc?.stop();
  await tdb?.drop();
});

/** Inserts finished tasks in one statement; returns nothing (counted by title prefix). */
async function seed(prefix: string, status: string, n: number, finishedDaysAgo: number | null, withChildren = false) {
  await sql`
    insert into baton.tasks (type, title, status, attempts, created_at, updated_at, started_at, finished_at, run_at)
    select 'noop', ${prefix} || g, ${status}, 1,
      now() - make_interval(days => coalesce(${finishedDaysAgo}::int, 100) + 1) - g * interval '1 second',
      now() - make_interval(days => coalesce(${finishedDaysAgo}::int, 100)) - g * interval '1 second',
      now() - make_interval(days => coalesce(${finishedDaysAgo}::int, 100)) - g * interval '2 seconds',
      case when ${finishedDaysAgo}::int is null then null
           else now() - make_interval(days => ${finishedDaysAgo}::int) - g * interval '1 second' end,
      now() + interval '1 day'
    from generate_series(1, ${n}::int) g`;
  if (withChildren) {
    await sql`
      insert into baton.task_logs (task_id, attempt, event, instance_id, created_at)
      select t.id, 1, e.event, 'seed', t.finished_at
      from baton.tasks t cross join (values ('started'), ('succeeded')) e(event)
      where t.title like ${`${prefix}%`}`;
    await sql`
      insert into baton.conversations (task_id, content, status)
      select t.id, 'old message', 'processed' from baton.tasks t where t.title like ${`${prefix}%`} and t.id % 10 = 0`;
  }
}

const count = async (prefix: string) =>
  (await sql<{ n: number }[]>`select count(*)::int as n from baton.tasks where title like ${`${prefix}%`}`)[0].n;

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** Creates tasks through the API with `parallel` clients until stop() says so (and at least min). */
async function createLoad(parallel: number, min: number, keepGoing: () => boolean) {
  const latencies: number[] = [];
  const statuses: number[] = [];
  const finishedAt: number[] = [];
  const ids: number[] = [];
  const client = async () => {
    while (latencies.length < min || keepGoing()) {
      const t0 = performance.now();
      const r = await api(svc.url, "POST", "/api/tasks", { type: "noop", title: "live", hold: true });
      latencies.push(performance.now() - t0);
      statuses.push(r.status);
      finishedAt.push(Date.now());
      if (r.status === 201) ids.push(r.body.id);
    }
  };
  await Promise.all(Array.from({ length: parallel }, client));
  return { latencies, statuses, finishedAt, ids };
}

describe("retention pruning", () => {
  it("prunes 100,000 old completed tasks in batches without blocking concurrent creates", async () => {
    const t0 = Date.now();
    await seed("old-done-", "completed", OLD, 40, true);
    await seed("old-canceled-", "canceled", 20, 40);
    await seed("old-failed-", "failed", 10, 100);
    await seed("recent-done-", "completed", 50, 10, true);
    await seed("failed-kept-", "failed", 30, 40);
    await seed("ancient-pending-", "pending", 10, null);
    await sql`analyze baton.tasks`;
    await sql`analyze baton.task_logs`;
    const seedMs = Date.now() - t0;
    const [before] = await sql<{ logs: number; convs: number }[]>`
      select (select count(*)::int from baton.task_logs) as logs, (select count(*)::int from baton.conversations) as convs`;
    expect(before.logs).toBe(2 * (OLD + 50));

    // Without pruning: the reference latencies.
    const baseline = await createLoad(4, 300, () => false);

    // With pruning: the same load for as long as the prune runs.
    const pruner = new Pruner(tdb.database, createLogger("silent", "test"), {
      retentionDays: 30,
      failedRetentionDays: 90,
      intervalMs: 0,
      batchSize: 1000,
    });
    let pruning = true;
    const pruneStart = Date.now();
    const [result, during] = await Promise.all([
      pruner.runOnce().finally(() => {
        pruning = false;
      }),
      createLoad(4, 50, () => pruning),
    ]);
    const pruneEnd = pruneStart + result.ms;

    // every create succeeded, and creates kept committing while the prune ran
    expect(baseline.statuses.every((s) => s === 201)).toBe(true);
    expect(during.statuses.every((s) => s === 201)).toBe(true);
    expect(during.finishedAt.filter((t) => t < pruneEnd).length).toBeGreaterThan(0);
    const [live] = await sql<{ n: number }[]>`select count(*)::int as n from baton.tasks where id = any(${[...baseline.ids, ...during.ids]})`;
    expect(live.n).toBe(baseline.ids.length + during.ids.length);

    // exactly the expired rows went, with their children
    expect(result.deleted).toBe(OLD + 20 + 10);
    expect(result.batches).toBeGreaterThanOrEqual(OLD / 1000);
    expect(await count("old-done-")).toBe(0);
    expect(await count("old-canceled-")).toBe(0);
    expect(await count("old-failed-")).toBe(0);
    expect(await count("recent-done-")).toBe(50);
    expect(await count("failed-kept-")).toBe(30);
    expect(await count("ancient-pending-")).toBe(10);
    const [after] = await sql<{ logs: number; convs: number; orphanLogs: number }[]>`
      select (select count(*)::int from baton.task_logs where instance_id = 'seed') as logs,
             (select count(*)::int from baton.conversations) as convs,
             (select count(*)::int from baton.task_logs l where not exists (select 1 from baton.tasks t where t.id = l.task_id)) as "orphanLogs"`;
    expect(after.logs).toBe(2 * 50);
    expect(after.convs).toBe(before.convs - OLD / 10);
    expect(after.orphanLogs).toBe(0);

    // a second pass finds nothing
    expect((await pruner.runOnce()).deleted).toBe(0);

    const numbers = {
      oldTasks: OLD,
      seedMs,
      prune: { deleted: result.deleted, batches: result.batches, ms: result.ms, rowsPerSecond: Math.round(result.deleted / (result.ms / 1000)) },
      createsWithoutPrune: { n: baseline.latencies.length, p50: +percentile(baseline.latencies, 50).toFixed(1), p99: +percentile(baseline.latencies, 99).toFixed(1) },
      createsDuringPrune: { n: during.latencies.length, p50: +percentile(during.latencies, 50).toFixed(1), p99: +percentile(during.latencies, 99).toFixed(1) },
      clients: 4,
      batchSize: 1000,
    };
    console.log(`[retention] ${JSON.stringify(numbers)}`);
    mkdirSync("test-artifacts", { recursive: true });
    writeFileSync("test-artifacts/retention-numbers.json", `${JSON.stringify(numbers, null, 2)}\n`);
  });

  it("runs as a component of the service on PRUNE_INTERVAL_MS and counts what it pruned", async () => {
    await seed("component-old-", "completed", 25, 40, true);
    const other = await startTestService(tdb.url, { PRUNE_INTERVAL_MS: "200", WORKER_ENABLED: "false" });
    try {
      await waitFor(async () => (await count("component-old-")) === 0, { what: "component prune" });
      const text = await (await fetch(`${other.url}/metrics`)).text();
      expect(text).toMatch(/^baton_pruned_tasks_total 25$/m);
      expect(await count("recent-done-")).toBe(50);
    } finally {
      await other.stop();
    }
  });
});
