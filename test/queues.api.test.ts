/**
 * Queues as first-class objects, in one process: the API's validation (400 naming the field,
 * nothing stored), the live counts, edits in flight (concurrency raised and lowered without a
 * restart, nothing aborted), a queue without a row still one at a time, priorities inside a queue,
 * and the same rules for a DBA's UPDATE baton.queues and baton.enqueue.
 *
 * The probe handler counts how many tasks of its queue run at that moment and holds until the
 * test releases it, so "how many run at once" is read from the handlers themselves.
 */
import { sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { registerTaskType } from "../src/worker/registry.js";
import { api, serviceForFile, waitFor } from "./helpers/service.js";

const running = new Map<string, number>();
const peak = new Map<string, number>();
const order: number[] = [];
let held: (() => void)[] = [];
let holding = true;

registerTaskType({
  name: "test.queue-probe",
  description: "Test only: counts the running tasks of its queue and waits until released.",
  params: z.object({ hold: z.boolean().default(true) }),
  handler: async (p, ctx) => {
    const q = ctx.task.queue ?? "";
    const now = (running.get(q) ?? 0) + 1;
    running.set(q, now);
    peak.set(q, Math.max(peak.get(q) ?? 0, now));
    order.push(ctx.task.id);
    try {
      if (p.hold && holding) await new Promise<void>((r) => held.push(r));
    } finally {
      running.set(q, (running.get(q) ?? 1) - 1);
    }
    return null;
  },
});

function releaseAll(): void {
  const h = held;
  held = [];
  for (const r of h) r();
}

afterEach(() => {
  holding = false;
  releaseAll();
  holding = true;
});

const s = serviceForFile({ WORKER_CONCURRENCY: "10" });
const url = () => s.svc.url;
const db = () => s.svc.database.db;

async function statuses(ids: number[]): Promise<Record<string, number>> {
  const { rows } = await sql<{ status: string; n: number }>`
    select status, count(*)::int as n from baton.tasks where id = any(${ids}::bigint[]) group by status`.execute(db());
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/** Releases held handlers until `n` of `ids` completed. */
async function drain(ids: number[], n: number, what: string): Promise<void> {
  await waitFor(
    async () => {
      releaseAll();
      return (await statuses(ids)).completed === n;
    },
    { what, intervalMs: 50 },
  );
}

async function createTasks(queue: string | null, n: number, extra: Record<string, unknown> = {}): Promise<number[]> {
  const tasks = Array.from({ length: n }, () => ({ type: "test.queue-probe", queue, ...extra }));
  const r = await api(url(), "POST", "/api/tasks/batch", { tasks });
  expect(r.status).toBe(200);
  return r.body.ids;
}

describe("PUT /api/queues/{name}: bad input is a 400 naming the field, and nothing is stored", () => {
  const cases: [string, unknown, string][] = [
    ["concurrency 0", { concurrency: 0 }, "concurrency"],
    ["negative concurrency", { concurrency: -2 }, "concurrency"],
    ["non-integer concurrency", { concurrency: 1.5 }, "concurrency"],
    ["perSeconds 0", { rateLimit: { limit: 5, perSeconds: 0 } }, "rateLimit.perSeconds"],
    ["negative limit", { rateLimit: { limit: -1, perSeconds: 1 } }, "rateLimit.limit"],
    ["non-integer limit", { rateLimit: { limit: 2.5, perSeconds: 1 } }, "rateLimit.limit"],
    ["an unknown key", { concurrency: 2, burst: 3 }, "burst"],
    ["an unknown key in rateLimit", { rateLimit: { limit: 1, perSeconds: 1, burst: 3 } }, "rateLimit"],
  ];
  for (const [what, body, field] of cases) {
    it(what, async () => {
      const r = await api(url(), "PUT", "/api/queues/bad-input", body);
      expect(r.status).toBe(400);
      expect(r.headers.get("content-type")).toMatch(/application\/problem\+json/);
      // the field is named (an unknown key is named in the message: it has no path of its own)
      expect(r.body.errors.map((e: { field: string; message: string }) => `${e.field} ${e.message}`).join(" ")).toContain(field);
      const { rows } = await sql`select 1 from baton.queues where name = 'bad-input'`.execute(db());
      expect(rows).toHaveLength(0);
    });
  }
  it("a name that is too long", async () => {
    const name = "q".repeat(201);
    const r = await api(url(), "PUT", `/api/queues/${name}`, { concurrency: 2 });
    expect(r.status).toBe(400);
    expect(r.body.errors.map((e: { field: string }) => e.field).join(" ")).toContain("name");
    const { rows } = await sql`select 1 from baton.queues where name = ${name}`.execute(db());
    expect(rows).toHaveLength(0);
  });
});

describe("queue storage and the API", () => {
  it("PUT stores the limits, GET and the list show them with live counts, pause and resume flip paused", async () => {
    const put = await api(url(), "PUT", "/api/queues/exports", { concurrency: 3, rateLimit: { limit: 10, perSeconds: 1 } });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ name: "exports", concurrency: 3, rateLimit: { limit: 10, perSeconds: 1 }, paused: false, configured: true });
    const { rows } = await sql<{ concurrency: number; rateLimit: unknown; paused: boolean }>`
      select concurrency, rate_limit, paused from baton.queues where name = 'exports'`.execute(db());
    expect(rows).toEqual([{ concurrency: 3, rateLimit: { limit: 10, perSeconds: 1 }, paused: false }]);

    const paused = await api(url(), "POST", "/api/queues/exports/pause");
    expect(paused.status).toBe(200);
    expect(paused.body.paused).toBe(true);
    const ids = await createTasks("exports", 4);
    const got = await api(url(), "GET", "/api/queues/exports");
    expect(got.body).toMatchObject({ paused: true, waiting: 4, pending: 0, running: 0 });
    const resumed = await api(url(), "POST", "/api/queues/exports/resume");
    expect(resumed.body.paused).toBe(false);
    await waitFor(() => (running.get("exports") ?? 0) === 3, { what: "3 exports running" });
    const list = await api(url(), "GET", "/api/queues");
    expect(list.status).toBe(200);
    const q = list.body.items.find((x: { name: string }) => x.name === "exports");
    expect(q).toMatchObject({ running: 3, waiting: 1, concurrency: 3 });
    expect(q.startedLastMinute).toBeGreaterThanOrEqual(3);
    releaseAll();
    await drain(ids, 4, "all exports done");
    expect(peak.get("exports")).toBe(3);
  });

  it("a queue without a row shows the defaults, and the list names queues that only have tasks", async () => {
    const r = await api(url(), "GET", "/api/queues/never-configured");
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ name: "never-configured", concurrency: 1, rateLimit: null, paused: false, configured: false });
  });
});

describe("reaching the limits from outside", () => {
  it("/metrics shows queue saturation and the waiting count by reason", async () => {
    await api(url(), "PUT", "/api/queues/metered", { concurrency: 2, paused: true });
    await createTasks("metered", 3);
    const text = await waitFor(
      async () => {
        const t = await (await fetch(`${url()}/metrics`)).text();
        return t.includes('baton_queue_waiting{queue="metered",reason="paused"} 3') ? t : null;
      },
      { what: "metered paused waiting 3 in /metrics" },
    );
    expect(text).toContain('baton_queue_saturation{queue="metered"} 0');
    await api(url(), "POST", "/api/queues/metered/resume");
    await waitFor(() => (running.get("metered") ?? 0) === 2, { what: "two metered running" });
    await waitFor(
      async () => {
        const t = await (await fetch(`${url()}/metrics`)).text();
        return t.includes('baton_queue_saturation{queue="metered"} 1') && t.includes('baton_queue_waiting{queue="metered",reason="concurrency"} 1');
      },
      { what: "metered saturated with one waiting for a slot", timeoutMs: 10_000 },
    );
    await api(url(), "POST", "/api/queues/metered/pause");
  });
});

describe("existing promises hold", () => {
  it("a queue without a row still runs one at a time", async () => {
    const ids = await createTasks("plain-serial", 4);
    await waitFor(() => (running.get("plain-serial") ?? 0) === 1, { what: "first plain task running" });
    // the others stay pending (graphile-worker's named queue), not waiting: no row, no admission
    expect(await statuses(ids)).toMatchObject({ processing: 1, pending: 3 });
    await drain(ids, 4, "plain queue drained");
    expect(peak.get("plain-serial")).toBe(1);
  });

  it("priorities order the tasks inside a queue with a row", async () => {
    await api(url(), "PUT", "/api/queues/prio", { concurrency: 1, paused: true });
    const low = await createTasks("prio", 3, { priority: 1 });
    const high = await createTasks("prio", 3, { priority: 9 });
    order.length = 0;
    await api(url(), "POST", "/api/queues/prio/resume");
    await drain([...low, ...high], 6, "prio drained");
    expect(order).toEqual([...high, ...low]);
    expect(peak.get("prio")).toBe(1);
  });
});

describe("edits in flight", () => {
  it("raising concurrency 1 → 5 lets more start without a restart; lowering it lets running tasks finish, none aborted", async () => {
    await api(url(), "PUT", "/api/queues/edits", { concurrency: 1 });
    const ids = await createTasks("edits", 12);
    await waitFor(() => (running.get("edits") ?? 0) === 1, { what: "one running" });
    expect(await statuses(ids)).toMatchObject({ processing: 1, waiting: 11 });

    await api(url(), "PUT", "/api/queues/edits", { concurrency: 5 });
    await waitFor(() => (running.get("edits") ?? 0) === 5, { what: "five running after the raise" });

    // Lower to 2 while 5 run: they keep running, nothing new starts until fewer than 2 run.
    await api(url(), "PUT", "/api/queues/edits", { concurrency: 2 });
    expect(await statuses(ids)).toMatchObject({ processing: 5, waiting: 7 });
    const firstFive = held.splice(0);
    const running5 = (await sql<{ id: number }>`
      select id from baton.tasks where queue = 'edits' and status = 'processing'`.execute(db())).rows.map((r) => Number(r.id));
    for (const r of firstFive) r();
    await waitFor(async () => (await statuses(running5)).completed === 5, { what: "the five running finished" });
    // from here on, at most 2 of the queue run at once; release whatever holds until all are done
    peak.set("edits", running.get("edits") ?? 0);
    await drain(ids, 12, "edits drained");
    expect(peak.get("edits")).toBeLessThanOrEqual(2);
    const { rows } = await sql<{ event: string; n: number }>`
      select event, count(*)::int as n from baton.task_logs where task_id = any(${ids}::bigint[]) group by event`.execute(db());
    expect(rows).toEqual([{ event: "succeeded", n: 12 }]);
  });
});

describe("the same rules in SQL", () => {
  it("baton.enqueue creates waiting tasks of a full queue, and a DBA's UPDATE baton.queues admits more at once", async () => {
    await sql`insert into baton.queues (name, concurrency) values ('sql-q', 1)`.execute(db());
    const { rows } = await sql<{ id: number }>`
      select baton.enqueue('test.queue-probe', '{}'::jsonb, '', 0, 'sql-q') as id from generate_series(1, 4)`.execute(db());
    const ids = rows.map((r) => Number(r.id));
    await waitFor(() => (running.get("sql-q") ?? 0) === 1, { what: "one sql-q task running" });
    expect(await statuses(ids)).toMatchObject({ processing: 1, waiting: 3 });
    const jobs = await sql<{ n: number }>`
      select count(*)::int as n from graphile_worker.jobs where key = any(${ids.map((i) => `baton:${i}`)})`.execute(db());
    expect(jobs.rows[0].n).toBe(1); // waiting tasks have no job (invariant 2)
    await sql`update baton.queues set concurrency = 4 where name = 'sql-q'`.execute(db());
    await waitFor(() => (running.get("sql-q") ?? 0) === 4, { what: "four sql-q tasks running after the UPDATE" });
    await sql`update baton.queues set paused = true where name = 'sql-q'`.execute(db());
    releaseAll();
    await waitFor(async () => (await statuses(ids)).completed === 4, { what: "sql-q drained" });
  });
});
