/**
 * EXPLAIN (ANALYZE, BUFFERS, WAL) of baton's hot statements on the big tables, each inside a
 * transaction that is rolled back, so nothing changes. The statements are the ones baton runs:
 * graphile-worker's claim (its getJobs text for a batch of 1 and of a local queue), baton's start
 * and finish bookkeeping (startTasks / finishTasks, read from src/db/queries/tasks.ts through
 * kysely's compiler), the list page and its count.
 */
import { type CompiledQuery, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from "kysely";
import { finishTasks, listTasks, startTasks } from "../../src/db/queries/tasks.js";
import type { DB } from "../../src/db/types.js";
import type { Baton } from "./systems.js";

/** A kysely instance that records the SQL it would run and returns canned rows. */
function recorder(rows: Record<string, unknown>[] = []) {
  const seen: CompiledQuery[] = [];
  const db = new Kysely<DB>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createIntrospector: (k) => new PostgresIntrospector(k),
      createQueryCompiler: () => new PostgresQueryCompiler(),
      createDriver: () => ({
        init: async () => {},
        destroy: async () => {},
        acquireConnection: async () => ({
          executeQuery: async (q: CompiledQuery) => {
            seen.push(q);
            return { rows: rows as never[] };
          },
          streamQuery: () => {
            throw new Error("not used");
          },
        }),
        beginTransaction: async () => {},
        commitTransaction: async () => {},
        rollbackTransaction: async () => {},
        releaseConnection: async () => {},
      }),
    },
  });
  return { db, seen };
}

function gwClaimSql(batchSize: number): string {
  // graphile-worker 0.18.0 dist/sql/getJobs.js, strategy 2 (named queues), no forbidden flags;
  // a batch keeps only the first job per named queue (its dedupe step).
  const dedupe =
    batchSize > 1
      ? `,
j as (
  select distinct on (job_queue_id, case when job_queue_id is null then id end)
      job_queue_id, priority, run_at, id
    from j_raw
    order by job_queue_id, case when job_queue_id is null then id end, priority asc, run_at asc
)`
      : "";
  return `with ${batchSize > 1 ? "j_raw" : "j"} as (
  select jobs.job_queue_id, jobs.priority, jobs.run_at, jobs.id
    from graphile_worker._private_jobs as jobs
    where jobs.is_available = true
    and run_at <= now()
    and task_id = any($2::int[])
    and (
      jobs.job_queue_id is null
      or
      jobs.job_queue_id in (
        select id
        from graphile_worker._private_job_queues as job_queues
        where job_queues.is_available = true
        for update
        skip locked
      )
    )
    order by priority asc, run_at asc
    limit ${batchSize}
    for update
    skip locked
)${dedupe}, q as (
  update graphile_worker._private_job_queues as job_queues
    set locked_by = $1::text, locked_at = now()
    from j
    where job_queues.id = j.job_queue_id
)
  update graphile_worker._private_jobs as jobs
    set attempts = jobs.attempts + 1, locked_by = $1::text, locked_at = now()
    from j
    where jobs.id = j.id
    returning *`;
}

export async function explainBaton(baton: Baton): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const conn = await baton.admin.reserve();
  const explain = async (name: string, text: string, params: unknown[]) => {
    await conn.unsafe("begin");
    try {
      const rows = await conn.unsafe(`explain (analyze, buffers, wal) ${text}`, params as never[]);
      out[name] = `${text.trim()}\n\n${rows.map((r) => r["QUERY PLAN"]).join("\n")}`;
    } finally {
      await conn.unsafe("rollback");
    }
  };
  try {
    const [task] = await conn`select id from graphile_worker._private_tasks where identifier = 'baton:run'`;
    const ids = (await conn`select id from baton.tasks where status = 'pending' order by id limit 100`).map((r) => Number(r.id));
    await explain("claim: graphile-worker get job (batch of 1)", gwClaimSql(1), ["bench-explain", [task.id]]);
    await explain("claim: graphile-worker get jobs (local queue of 500)", gwClaimSql(500), ["bench-explain", [task.id]]);

    const start = recorder();
    await startTasks(start.db, ids, "bench-explain");
    await explain("start bookkeeping: startTasks (100 tasks)", start.seen[0].sql, [...start.seen[0].parameters]);

    const finish = recorder();
    await finishTasks(finish.db, ids.map((id) => ({ id, attempt: 1, outcome: "succeeded" as const, result: null, durationMs: 1 })), "bench-explain");
    const f = finish.seen[0];
    // finishTasks only touches tasks this instance holds: mark them processing first (same transaction)
    await conn.unsafe("begin");
    try {
      await conn`update baton.tasks set status = 'processing', attempts = 1, locked_by = 'bench-explain' where id = any(${ids}::bigint[])`;
      const rows = await conn.unsafe(`explain (analyze, buffers, wal) ${f.sql}`, [...f.parameters] as never[]);
      out["outcome bookkeeping: finishTasks (100 tasks)"] = `${f.sql.trim()}\n\n${rows.map((r) => r["QUERY PLAN"]).join("\n")}`;
    } finally {
      await conn.unsafe("rollback");
    }

    const list = recorder([{ n: 0 }]);
    await listTasks(list.db, { status: ["pending"], sort: "id", order: "desc", limit: 100 }).catch(() => {});
    list.seen.forEach((q, i) => {
      out[`list: GET /api/tasks?status=pending&limit=100, statement ${i + 1}`] = q.sql;
    });
    for (const [i, q] of list.seen.entries()) {
      if (/^\s*explain/i.test(q.sql)) continue;
      await explain(`list: GET /api/tasks?status=pending&limit=100, statement ${i + 1}`, q.sql, [...q.parameters]);
    }
    await explain("count: exact count(*) of pending (what a plain total costs)", "select count(*) from baton.tasks where status in ('pending')", []);
    await explain("get: GET /api/tasks/{id} (task row)", "select * from baton.tasks where id = $1", [ids[0]]);
  } finally {
    conn.release();
  }
  return out;
}
