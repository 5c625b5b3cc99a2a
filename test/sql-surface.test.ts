/**
 * The DBA's SQL surface against a running instance: baton.enqueue / cancel_task / retry_task
 * with the API's rules, enqueueing from a trigger on a user's table (commit and rollback), the
 * views, and COMMENT ON coverage of everything in schema baton.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sql } from "../src/db/client.js";
import type { Service } from "../src/service.js";
import type { AttemptEvent } from "../src/worker/pool.js";
import { createTestDb, type TestDb } from "./helpers/db.js";
import { startTestService, waitFor } from "./helpers/service.js";

let tdb: TestDb;
let svc: Service;
let sql: Sql;
const attempts: AttemptEvent[] = [];

beforeAll(async () => {
  tdb = await createTestDb();
  sql = tdb.database.sql;
  svc = await startTestService(tdb.url, { WORKER_CONCURRENCY: "4", PRUNE_INTERVAL_MS: "0" });
  svc.worker!.events.on("attempt", (e: AttemptEvent) => attempts.push(e));
});
afterAll(async () => {
  await svc?.stop();
  await tdb?.drop();
});

const task = async (id: number) =>
  (await sql<{ status: string; attempts: number; result: unknown }[]>`select status, attempts, result from baton.tasks where id = ${id}`)[0];
const events = async (id: number) =>
  (await sql<{ event: string }[]>`select event from baton.task_logs where task_id = ${id} order by id`).map((r) => r.event);
const jobCount = async (id: number) =>
  (await sql<{ n: number }[]>`select count(*)::int as n from graphile_worker.jobs where key = ${`baton:${id}`}`)[0].n;
const until = (id: number, status: string) =>
  waitFor(async () => (await task(id))?.status === status, { what: `task ${id} ${status}` });

describe("baton.enqueue", () => {
  it("creates a task that runs, with its job in the same statement", async () => {
    const [{ id }] = await sql<{ id: number }[]>`select baton.enqueue('noop', '{"from": "sql"}'::jsonb, 'from psql') as id`;
    expect(id).toBeGreaterThan(0);
    await until(id, "completed");
    expect(await events(id)).toEqual(["succeeded"]);
    expect(await jobCount(id)).toBe(0);
  });

  it("returns null for a duplicate dedupe key, like the API's 409", async () => {
    const [first] = await sql<{ id: number | null }[]>`
      select baton.enqueue('noop', '{}'::jsonb, 'd', 0, null, now() + interval '1 hour', 3, 'sql-dedupe-1') as id`;
    const [second] = await sql<{ id: number | null }[]>`
      select baton.enqueue('noop', '{}'::jsonb, 'd', 0, null, now(), 3, 'sql-dedupe-1') as id`;
    expect(first.id).toBeGreaterThan(0);
    expect(second.id).toBeNull();
    expect(await jobCount(first.id!)).toBe(1);
  });

  it("rejects values the API rejects (priority range, attempts) with the table's checks", async () => {
    await expect(sql`select baton.enqueue('noop', '{}'::jsonb, 'x', 100000)`).rejects.toMatchObject({ code: "23514" });
    await expect(sql`select baton.enqueue('noop', '{}'::jsonb, 'x', 0, null, now(), 0)`).rejects.toMatchObject({ code: "23514" });
  });
});

describe("baton.cancel_task and baton.retry_task", () => {
  it("cancel_task reaches a running handler and aborts it", async () => {
    const [{ id }] = await sql<{ id: number }[]>`select baton.enqueue('simulate', '{"durationMs": 60000}'::jsonb, 'long') as id`;
    await waitFor(() => svc.worker!.runningIds().includes(id), { what: "handler running" });
    const [row] = await sql<{ status: string }[]>`select status from baton.cancel_task(${id})`;
    expect(row.status).toBe("canceled");
    // the handler was aborted through NOTIFY baton_cancel → AbortSignal, not left to run 60 s
    await waitFor(() => attempts.some((e) => e.taskId === id && e.outcome === "canceled"), { what: "canceled attempt event" });
    expect(svc.worker!.runningIds()).not.toContain(id);
    expect(await task(id)).toMatchObject({ status: "canceled", attempts: 1 });
    expect(await events(id)).toEqual(["canceled"]);
    expect(await jobCount(id)).toBe(0);
  });

  it("applies the API's state rules: 409 (BT409) once terminal, 404 (P0002) when missing", async () => {
    const [{ id }] = await sql<{ id: number }[]>`select baton.enqueue('noop') as id`;
    await until(id, "completed");
    await expect(sql`select baton.cancel_task(${id})`).rejects.toMatchObject({ code: "BT409" });
    await expect(sql`select baton.retry_task(${id})`).rejects.toMatchObject({ code: "BT409" });
    await expect(sql`select baton.cancel_task(999999999)`).rejects.toMatchObject({ code: "P0002" });
  });

  it("retry_task puts a canceled task back to pending with a fresh job, and it runs", async () => {
    const [{ id }] = await sql<{ id: number }[]>`
      select baton.enqueue('noop', '{}'::jsonb, 'later', 0, null, now() + interval '1 hour') as id`;
    await sql`select baton.cancel_task(${id})`;
    expect(await jobCount(id)).toBe(0);
    const [row] = await sql<{ status: string }[]>`select status from baton.retry_task(${id})`;
    expect(row.status).toBe("pending");
    await until(id, "completed");
    expect(await events(id)).toEqual(["canceled", "note", "succeeded"]);
  });
});

describe("enqueue from a trigger on a user's table", () => {
  beforeAll(async () => {
    await sql.unsafe(`
      create table public.orders (id bigserial primary key, customer text not null, task_id bigint);
      create function public.orders_enqueue() returns trigger language plpgsql as $$
      begin
        new.task_id := baton.enqueue('noop', jsonb_build_object('orderId', new.id), 'order ' || new.id);
        return new;
      end $$;
      create trigger orders_enqueue before insert on public.orders
        for each row execute function public.orders_enqueue();`);
  });

  it("commits the task and its job with the user's row", async () => {
    let taskId = 0;
    await sql.begin(async (tx) => {
      const [o] = await tx<{ task_id: number }[]>`insert into public.orders (customer) values ('ada') returning task_id`;
      taskId = o.task_id;
      // inside the transaction: the task and its job are there...
      const [inside] = await tx<{ n: number }[]>`
        select count(*)::int as n from baton.tasks t join graphile_worker.jobs j on j.key = 'baton:' || t.id where t.id = ${taskId}`;
      expect(inside.n).toBe(1);
      // ...and nobody else can see them yet
      const [outside] = await sql<{ n: number }[]>`select count(*)::int as n from baton.tasks where id = ${taskId}`;
      expect(outside.n).toBe(0);
    });
    await until(taskId, "completed");
  });

  it("enqueues nothing when the transaction rolls back", async () => {
    let taskId = 0;
    await sql
      .begin(async (tx) => {
        const [o] = await tx<{ task_id: number }[]>`insert into public.orders (customer) values ('bob') returning task_id`;
        taskId = o.task_id;
        throw new Error("rollback");
      })
      .catch((e) => expect((e as Error).message).toBe("rollback"));
    expect(taskId).toBeGreaterThan(0);
    const [t] = await sql<{ n: number }[]>`select count(*)::int as n from baton.tasks where id = ${taskId}`;
    expect(t.n).toBe(0);
    expect(await jobCount(taskId)).toBe(0);
    const [orphans] = await sql<{ n: number }[]>`
      select count(*)::int as n from graphile_worker.jobs j
      where j.key like 'baton:%' and not exists (select 1 from baton.tasks t where 'baton:' || t.id = j.key)`;
    expect(orphans.n).toBe(0);
  });
});

describe("views", () => {
  it("queue_depth counts unfinished work by status, type and queue", async () => {
    for (let i = 0; i < 3; i++) {
      await sql`select baton.enqueue('noop', '{}'::jsonb, 'depth', 0, 'depth-q', now() + interval '1 hour')`;
    }
    const rows = await sql<{ status: string; type: string; tasks: number; due: number; next_run_at: Date }[]>`
      select status, type, tasks::int, due::int, next_run_at from baton.queue_depth where queue = 'depth-q'`;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: "pending", type: "noop", tasks: 3, due: 0 });
    expect(+rows[0].next_run_at).toBeGreaterThan(Date.now());
    const [terminal] = await sql<{ n: number }[]>`
      select count(*)::int as n from baton.queue_depth where status in ('completed', 'failed', 'canceled')`;
    expect(terminal.n).toBe(0);
  });

  it("task_timeline lists one task's rows in order and reaches the task_id index", async () => {
    const [{ id }] = await sql<{ id: number }[]>`select baton.enqueue('noop', '{}'::jsonb, 'timeline') as id`;
    await until(id, "completed");
    await sql`insert into baton.task_logs (task_id, event, message) values (${id}, 'note', 'checked by a DBA')`;
    const rows = await sql<{ seq: number; event: string; instance_id: string; since_previous: string | null }[]>`
      select seq::int, event, instance_id, since_previous::text from baton.task_timeline where task_id = ${id} order by seq`;
    expect(rows.map((r) => [r.seq, r.event])).toEqual([
      [1, "succeeded"],
      [2, "note"],
    ]);
    expect(rows[0].since_previous).toBeNull();
    expect(rows[1].since_previous).not.toBeNull();
    expect(rows[0].instance_id).toBe(svc.config.INSTANCE_ID);
    const plan = (await sql.unsafe(`explain select * from baton.task_timeline where task_id = ${Number(id)}`)).map((r) => r["QUERY PLAN"]).join("\n");
    expect(plan).toMatch(/task_logs_task_idx/);
  });

  it("instance_health shows this instance alive with its window", async () => {
    const [me] = await sql<{ state: string; dead_after_ms: number; concurrency: number }[]>`
      select state, dead_after_ms, concurrency from baton.instance_health where id = ${svc.config.INSTANCE_ID}`;
    expect(me).toEqual({ state: "alive", dead_after_ms: svc.config.INSTANCE_DEAD_AFTER_MS, concurrency: 4 });
  });
});

describe("COMMENT ON coverage", () => {
  it("every table, view, column and function in schema baton explains itself", async () => {
    const missing = await sql<{ what: string }[]>`
      select 'relation ' || c.relname as what
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'baton' and c.relkind in ('r', 'v', 'm', 'p')
        and obj_description(c.oid, 'pg_class') is null and c.relname <> 'migrations'
      union all
      select 'column ' || c.relname || '.' || a.attname
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
      where n.nspname = 'baton' and c.relkind in ('r', 'v', 'm', 'p') and c.relname <> 'migrations'
        and col_description(c.oid, a.attnum) is null
      union all
      select 'function ' || p.oid::regprocedure::text
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'baton' and obj_description(p.oid, 'pg_proc') is null
      order by 1`;
    expect(missing.map((m) => m.what)).toEqual([]);
  });
});
