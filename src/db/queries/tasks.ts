/**
 * Every runtime query on baton.tasks lives here: one exported function per named query,
 * (db | trx, params) → rows. The hot ones (insert, start, finish) are single statements that also
 * write their log rows and graphile_worker jobs, so a task and its job always commit together.
 */
import { type Kysely, sql } from "kysely";
import { DEFAULT_BACKOFF } from "../../domain/backoff.js";
import { AppError, notFound } from "../../domain/errors.js";
import { sourcesOf, type TaskAction, transition } from "../../domain/tasks.js";
import type { Backoff, DB, OnParentFailure, Task, TaskStatus } from "../types.js";

type Q = Kysely<DB>;

export interface NewTask {
  type: string;
  title?: string;
  description?: string;
  payload?: unknown;
  status?: "pending" | "backlog";
  priority?: number;
  queue?: string | null;
  runAt?: Date | string | null;
  maxAttempts?: number;
  backoff?: Backoff;
  timeoutMs?: number | null;
  dedupeKey?: string | null;
  scheduleId?: number | null;
  scheduledFor?: Date | string | null;
  /** W3C traceparent of the creating context (src/tracing). */
  traceparent?: string | null;
  conversations?: { role?: string; content: string; status?: string }[];
  /** Parents that exist already, by id (migrations/0013_workflows.sql). */
  dependsOn?: number[];
  /** Parents created by the same insertTasks call: their positions in its `tasks`. */
  dependsOnIndex?: number[];
  onParentFailure?: OnParentFailure;
}

export interface InsertResult {
  /** Per input, in order: the new id, or null when it was a duplicate. */
  ids: (number | null)[];
  /** Per input, in order: the new row, or null when it was a duplicate (empty with `ids: true`). */
  rows: (Task | null)[];
  created: number;
  duplicates: number;
}

/**
 * Inserts tasks, their conversations and the graphile_worker jobs of the pending ones in ONE
 * statement (so one transaction and one NOTIFY however many rows). Ids are drawn from the
 * sequence up front so conversations can be attached to the right task. ON CONFLICT DO NOTHING
 * covers both dedupe_key and (schedule_id, scheduled_for); duplicates within the same batch are
 * skipped the same way.
 *
 * `opts.ids`: return ids only, not the rows (POST /api/tasks/batch answers with ids; sending
 * 10,000 full rows back and parsing them cost more than the insert's own index work). The
 * sequence is named as a constant: `nextval(pg_get_serial_sequence(...))` resolved the table
 * name and scanned pg_depend for every row, ~10 µs each.
 */
export async function insertTasks(db: Q, tasks: NewTask[], opts: { ids?: boolean } = {}): Promise<InsertResult> {
  if (tasks.length === 0) return { ids: [], rows: [], created: 0, duplicates: 0 };
  const withParents = tasks.some((t) => t.dependsOn?.length || t.dependsOnIndex?.length);
  // A task with parents is created waiting, and baton.flow_created decides it in the same
  // transaction (the plain path below stays one statement, unchanged).
  if (withParents && !db.isTransaction) return db.transaction().execute((trx) => insertTasks(trx, tasks, opts));
  // Only the fields a task sets: absent keys read as NULL in jsonb_to_recordset and the
  // defaults are applied in SQL. A 10,000-row batch of `{type, title}` is a ~0.5 MB parameter
  // instead of ~2.5 MB, which Node builds, serialises and Postgres parses.
  const input = tasks.map((t, ord) => {
    const row: Record<string, unknown> = { ord, type: t.type };
    const put = (key: string, value: unknown) => {
      if (value !== undefined && value !== null) row[key] = value;
    };
    put("title", t.title);
    put("description", t.description);
    put("payload", t.payload);
    put("status", t.status);
    put("priority", t.priority);
    put("queue", t.queue);
    put("run_at", t.runAt);
    put("max_attempts", t.maxAttempts);
    put("backoff", t.backoff);
    put("timeout_ms", t.timeoutMs);
    put("dedupe_key", t.dedupeKey);
    put("schedule_id", t.scheduleId);
    put("scheduled_for", t.scheduledFor);
    put("traceparent", t.traceparent);
    if (t.conversations?.length) row.conversations = t.conversations;
    if (t.dependsOn?.length || t.dependsOnIndex?.length) {
      row.status = "waiting";
      if (t.dependsOn?.length) row.dep_ids = t.dependsOn;
      if (t.dependsOnIndex?.length) row.dep_ords = t.dependsOnIndex;
    }
    put("on_parent_failure", t.onParentFailure);
    return row;
  });
  // The edges, in the same statement as their tasks: the statement triggers (queue admission)
  // then see them, and a parent of the same batch is checked by the foreign key at its end. A
  // parent of the same batch is found by its position (`ord`) through joins, never `= any(array)`
  // per row: that form made a chain of 10,000 refs quadratic (80 s for one batch; joined, ~1 s).
  // A parent the batch repeats (a duplicate, not inserted) is the task holding its dedupe key;
  // the lookup runs only for rows that were not inserted (coalesce stops at the first non-null).
  const edges = withParents
    ? sql`, ords as (
      select i.id as task_id, o.ord as parent_ord
      from input i cross join unnest(i.dep_ords) as o(ord)
      where i.dep_ords is not null
    ), refs as (
      select i.ord, coalesce(ins.id, (select t.id from baton.tasks t where t.dedupe_key = i.dedupe_key)) as id
      from input i left join ins on ins.id = i.id
      where i.ord in (select parent_ord from ords)
    ), deps as (
      insert into baton.task_dependencies (task_id, depends_on)
      select distinct e.task_id, e.parent from (
        select i.id, x from input i cross join unnest(i.dep_ids) as x where i.dep_ids is not null
        union all
        select o.task_id, r.id from ords o join refs r on r.ord = o.parent_ord
      ) e(task_id, parent)
      join ins on ins.id = e.task_id
      where e.parent is not null and e.parent <> e.task_id
    )`
    : sql``;
  const { rows } = await sql<Task & { ord: number; jobs: number; convs: number }>`
    with input as (
      select nextval('baton.tasks_id_seq'::regclass) as id, x.*
      from jsonb_to_recordset(${input}::jsonb) as x(
        ord int, type text, title text, description text, payload jsonb, status text,
        priority int, queue text, run_at timestamptz, max_attempts int, backoff jsonb,
        timeout_ms int, dedupe_key text, schedule_id bigint, scheduled_for timestamptz,
        traceparent text, conversations jsonb, dep_ids bigint[], dep_ords int[], on_parent_failure text)
    ), ins as (
      insert into baton.tasks (id, type, title, description, payload, status, priority, queue,
        run_at, max_attempts, backoff, timeout_ms, dedupe_key, schedule_id, scheduled_for, traceparent, on_parent_failure)
      select id, type, coalesce(title, ''), coalesce(description, ''), coalesce(payload, '{}'::jsonb),
        coalesce(status, 'pending'), coalesce(priority, 0), queue, coalesce(run_at, now()),
        coalesce(max_attempts, 3), coalesce(backoff, ${DEFAULT_BACKOFF}::jsonb),
        timeout_ms, dedupe_key, schedule_id, scheduled_for, traceparent, coalesce(on_parent_failure, 'cancel')
      from input order by ord
      on conflict do nothing
      returning ${opts.ids ? sql`id, status, queue, run_at, priority` : sql`*`}
    )${edges}, conv as (
      insert into baton.conversations (task_id, role, content, status)
      select i.id, coalesce(c->>'role', 'user'), c->>'content', coalesce(c->>'status', 'pending')
      from input i join ins on ins.id = i.id
      cross join lateral jsonb_array_elements(i.conversations) c
      where i.conversations is not null
      returning 1
    ), specs as (
      select array_agg(baton.job_spec(id, queue, run_at, priority) order by id) as specs
      from ins where status = 'pending'
    ), jobs as (
      -- add_jobs only when there are jobs: called with NULL it still sends a 'jobs:insert' NOTIFY
      -- (with a NULL payload), which wakes every instance's worker pool for nothing
      select 1 from specs cross join lateral graphile_worker.add_jobs(specs.specs) where specs.specs is not null
    )
    select i.ord, ${opts.ids ? sql`ins.id` : sql`ins.*`}, (select count(*) from jobs) as jobs, (select count(*) from conv) as convs
    from input i left join ins on ins.id = i.id
    order by i.ord`.execute(db);
  if (withParents) {
    const waiting = rows.filter((r, i) => r.id !== null && (tasks[i].dependsOn?.length || tasks[i].dependsOnIndex?.length)).map((r) => r.id);
    await sql`select baton.flow_created(${waiting}::bigint[])`.execute(db);
    if (!opts.ids && waiting.length) {
      // flow_created may have opened or canceled them: answer with the rows as they now are
      const now = await db.selectFrom("baton.tasks").selectAll().where("id", "in", waiting).execute();
      const byId = new Map(now.map((t) => [t.id, t]));
      for (const r of rows) if (r.id !== null && byId.has(r.id)) Object.assign(r, byId.get(r.id));
    }
  }
  if (opts.ids) {
    const ids = rows.map((r) => r.id ?? null);
    const created = ids.filter((x) => x !== null).length;
    return { ids, rows: [], created, duplicates: ids.length - created };
  }
  const out = rows.map((r) => {
    if (r.id === null) return null;
    const { ord: _o, jobs: _j, convs: _c, ...task } = r;
    return task as Task;
  });
  const ids = out.map((r) => r?.id ?? null);
  const created = ids.filter((x) => x !== null).length;
  return { ids, rows: out, created, duplicates: ids.length - created };
}

export async function findIdByDedupeKey(db: Q, key: string): Promise<number | null> {
  const row = await db.selectFrom("baton.tasks").select("id").where("dedupeKey", "=", key).executeTakeFirst();
  return row?.id ?? null;
}

/** The ids of the tasks holding these dedupe keys, in one query (tasks_dedupe_key unique index). */
export async function findIdsByDedupeKeys(db: Q, keys: string[]): Promise<Map<string, number>> {
  if (keys.length === 0) return new Map();
  const { rows } = await sql<{ id: number; dedupeKey: string }>`
    select id, dedupe_key from baton.tasks where dedupe_key = any(${[...new Set(keys)]}::text[])`.execute(db);
  return new Map(rows.map((r) => [r.dedupeKey, Number(r.id)]));
}

export async function getTask(db: Q, id: number): Promise<Task | undefined> {
  return db.selectFrom("baton.tasks").selectAll().where("id", "=", id).executeTakeFirst();
}

export async function requireTask(db: Q, id: number): Promise<Task> {
  const t = await getTask(db, id);
  if (!t) throw notFound("task", id);
  return t;
}

export type SortField = "id" | "priority" | "createdAt" | "updatedAt" | "runAt";

export interface TaskFilter {
  status?: TaskStatus[];
  type?: string;
  queue?: string;
  scheduleId?: number;
  search?: string;
  sort: SortField;
  order: "asc" | "desc";
  limit: number;
  cursor?: { v: unknown; id: number };
}

const SORT_COLUMN: Record<SortField, string> = {
  id: "id",
  priority: "priority",
  createdAt: "created_at",
  updatedAt: "updated_at",
  runAt: "run_at",
};

/** Up to this many matching tasks, `total` is an exact count; above it, the planner's estimate. */
export const EXACT_TOTAL_LIMIT = 10_000;

/**
 * Keyset-paginated list. Order is (sort column, id) in one direction, so the cursor is the last
 * row's pair and the next page starts strictly after it (no OFFSET, stable under inserts).
 *
 * total counts the whole filter, cursor aside, exactly while at most EXACT_TOTAL_LIMIT tasks match
 * (a count stopped at EXACT_TOTAL_LIMIT + 1 rows: an index-only scan of at most that many
 * entries). Beyond that it is the planner's row estimate for the filter and `totalEstimated` is
 * true: an exact count(*) of 1M pending tasks read the whole (status, id) index range, ~100 ms
 * and growing with the backlog, on every page of a list that shows 100 rows.
 */
export async function listTasks(
  db: Q,
  f: TaskFilter,
): Promise<{ items: Task[]; total: number; totalEstimated: boolean; next: { v: unknown; id: number } | null }> {
  let q = db.selectFrom("baton.tasks");
  if (f.status?.length) q = q.where("status", "in", f.status);
  if (f.type) q = q.where("type", "=", f.type);
  if (f.queue) q = q.where("queue", "=", f.queue);
  if (f.scheduleId) q = q.where("scheduleId", "=", f.scheduleId);
  // Titles are searched in baton.task_titles (migrations/0010_task_titles.sql), whose trigram
  // index the worker's status updates never write; tasks without a title are not in it, which no
  // non-empty pattern could match anyway.
  if (f.search) {
    const pattern = `%${f.search.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
    q = q.where(sql<boolean>`id in (select task_id from baton.task_titles where title ilike ${pattern})`);
  }
  const col = sql.ref(SORT_COLUMN[f.sort]);
  const dir = f.order === "asc" ? sql`asc` : sql`desc`;
  let page = q.selectAll();
  if (f.cursor) {
    const cmp = f.order === "asc" ? sql`>` : sql`<`;
    const v = f.sort === "id" || f.sort === "priority" ? Number(f.cursor.v) : String(f.cursor.v);
    page = page.where(sql<boolean>`(${col}, id) ${cmp} (${v}, ${f.cursor.id})`);
  }
  const matching = q.select(sql<number>`1`.as("one"));
  const [items, count] = await Promise.all([
    page.orderBy(sql`${col} ${dir}, id ${dir}`).limit(f.limit + 1).execute(),
    db
      .selectFrom(matching.limit(EXACT_TOTAL_LIMIT + 1).as("m"))
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .executeTakeFirstOrThrow(),
  ]);
  let total = Number(count.n);
  const totalEstimated = total > EXACT_TOTAL_LIMIT;
  if (totalEstimated) total = Math.max(total, await estimateRows(matching));
  const more = items.length > f.limit;
  if (more) items.pop();
  const last = items[items.length - 1];
  const key = f.sort as keyof Task;
  const lastV = last ? last[key] : null;
  return {
    items,
    total,
    totalEstimated,
    next: more && last ? { v: lastV instanceof Date ? lastV.toISOString() : lastV, id: last.id } : null,
  };
}

/** The planner's estimate of the rows a query returns (EXPLAIN, nothing is executed). */
async function estimateRows(query: { explain(format: "json"): Promise<Record<string, unknown>[]> }): Promise<number> {
  const [row] = await query.explain("json");
  const plan = Object.values(row ?? {})[0] as [{ Plan?: { "Plan Rows"?: number } }] | undefined;
  return Math.round(Number(plan?.[0]?.Plan?.["Plan Rows"] ?? 0));
}

export interface TaskPatch {
  title?: string;
  description?: string;
  priority?: number;
  payload?: unknown;
  runAt?: Date | string;
}

/**
 * Edits a task that has not started. A change to priority or run_at is carried to its
 * graphile_worker job by re-adding it under the same key (replace mode), in the same statement.
 */
export async function updateTask(db: Q, id: number, patch: TaskPatch): Promise<Task> {
  return db.transaction().execute(async (trx) => {
    const cur = await trx.selectFrom("baton.tasks").selectAll().where("id", "=", id).forUpdate().executeTakeFirst();
    if (!cur) throw notFound("task", id);
    if (transition(cur.status, "edit") === null) {
      throw new AppError("INVALID_STATE", `task ${id} is ${cur.status}; only ${sourcesOf("edit").join(", ")} tasks can be edited`);
    }
    const row = await trx
      .updateTable("baton.tasks")
      .set({ ...patch, updatedAt: sql`now()` } as never)
      .where("id", "=", id)
      .returningAll()
      .executeTakeFirstOrThrow();
    if (patch.priority !== undefined || patch.runAt !== undefined) {
      await sql`select baton.queue_jobs(${[id]}::bigint[])`.execute(trx);
    }
    return row;
  });
}

/** Deletes a task with its conversations and logs (cascade) and its job. 409 while processing. */
export async function deleteTask(db: Q, id: number): Promise<void> {
  const { rows } = await sql<{ status: TaskStatus | null; deleted: boolean }>`
    with cur as (select id, status from baton.tasks where id = ${id} for update),
    del as (
      delete from baton.tasks t using cur
      where t.id = cur.id and baton.task_transition(cur.status, 'delete') is not null returning t.id
    ), job as (
      select graphile_worker.remove_job('baton:' || id) from del
    )
    select (select status from cur) as status, exists(select 1 from del) as deleted,
           (select count(*) from job) as jobs`.execute(db);
  const r = rows[0];
  if (!r?.status) throw notFound("task", id);
  if (!r.deleted) throw new AppError("INVALID_STATE", `task ${id} is ${r.status}; cancel it first`);
}

export async function cancelTask(db: Q, id: number, instanceId: string | null, source: "system" | "api" = "system"): Promise<Task> {
  const { rows } = await sql<Task>`select * from baton.cancel_task(${id}, ${instanceId}, ${source})`.execute(db);
  return rows[0];
}

export async function retryTask(db: Q, id: number, instanceId: string | null, source: "system" | "api" = "system"): Promise<Task> {
  const { rows } = await sql<Task>`select * from baton.retry_task(${id}, ${instanceId}, ${source})`.execute(db);
  return rows[0];
}

export interface BulkStatusResult {
  updated: number;
  notFound: number[];
  conflicts: number[];
}

/**
 * Bulk status report from an external system: the actions report_completed, report_failed and
 * report_pending of baton.task_transition.
 * - completed / failed: from waiting, backlog, pending, retrying or processing (a running handler
 *   is aborted through NOTIFY baton_cancel, and its own outcome is then ignored);
 * - pending: from backlog (a release) or from a terminal status (an explicit retry: attempts reset);
 * anything else is a conflict and is left unchanged. Rows are locked in id order, in one statement.
 */
export async function bulkStatus(
  db: Q,
  req: { completed: number[]; failed: number[]; pending: number[] },
  instanceId: string | null,
): Promise<BulkStatusResult> {
  const wanted = new Map<number, "completed" | "failed" | "pending">();
  for (const s of ["completed", "failed", "pending"] as const) for (const id of req[s]) wanted.set(id, s);
  if (wanted.size === 0) return { updated: 0, notFound: [], conflicts: [] };
  const input = [...wanted].map(([id, to]) => ({ id, to }));
  const { rows } = await sql<{ id: number; found: boolean; changed: boolean }>`
    with input as (select * from jsonb_to_recordset(${input}::jsonb) as x(id bigint, "to" text)),
    cur as (
      select t.id, t.status as prev, t.locked_by as ran_on, i."to" from baton.tasks t join input i on i.id = t.id
      order by t.id for update of t
    ), ok as (
      select cur.*, baton.task_transition(cur.prev, 'report_' || cur."to") as next from cur
    ), upd as (
      update baton.tasks t set
        status = ok.next,
        attempts = case when ok."to" = 'pending' and ok.prev <> 'backlog' then 0 else t.attempts end,
        run_at = case when ok."to" = 'pending' then now() else t.run_at end,
        finished_at = case when ok."to" = 'pending' then null else now() end,
        locked_by = null, updated_at = now()
      from ok where t.id = ok.id and ok.next is not null
      returning t.id, t.status, t.queue, t.run_at, t.priority, t.attempts, t.started_at, ok.prev, ok.ran_on
    ), rm as (
      select graphile_worker.remove_job('baton:' || id) from upd where status <> 'pending'
    ), add as (
      select 1 from graphile_worker.add_jobs((
        select array_agg(baton.job_spec(id, queue, run_at, priority)) from upd where status = 'pending'))
    ), logs as (
      -- A report that ends a running attempt is that attempt's outcome row: its number, the
      -- instance it ran on, its start and duration (the handler is aborted and writes none). Any
      -- other report ends no attempt: attempt 0, like a cancel of a task that is not running.
      insert into baton.task_logs (task_id, attempt, event, instance_id, message, started_at, duration_ms, source)
      select id, case when ended then attempts else 0 end,
        case status when 'completed' then 'succeeded' when 'failed' then 'failed' else 'note' end,
        case when ended then coalesce(ran_on, ${instanceId}) else ${instanceId} end,
        'status reported: ' || prev || ' -> ' || status,
        case when ended then started_at end,
        case when ended then greatest(0, extract(epoch from now() - started_at) * 1000)::int end,
        'system'
      from (select upd.*, prev = 'processing' as ended from upd) u
    ), note as (
      select pg_notify('baton_cancel', id::text) from upd where prev = 'processing'
    )
    select i.id, cur.id is not null as found, upd.id is not null as changed,
      (select count(*) from rm) + (select count(*) from add) + (select count(*) from note) as side
    from input i left join cur on cur.id = i.id left join upd on upd.id = i.id`.execute(db);
  return {
    updated: rows.filter((r) => r.changed).length,
    notFound: rows.filter((r) => !r.found).map((r) => r.id),
    conflicts: rows.filter((r) => r.found && !r.changed).map((r) => r.id),
  };
}

/**
 * Batched claim bookkeeping: marks the tasks of the jobs this instance just locked as processing,
 * bumps attempts and sets locked_by and started_at, in one statement for many jobs. A task that is
 * no longer pending/retrying (canceled, deleted, reported done) is simply not returned, and its
 * job completes without running anything.
 *
 * No `started` log row (DESIGN.md invariant 3): the attempt in flight is the task row itself
 * (processing, locked_by, started_at), and the attempt's outcome row carries its start. The row
 * cost a heap insert, four index entries and a foreign-key check per attempt, about 15 % of
 * the WAL of running a task (docs/benchmarks.md, "Bookkeeping per task").
 *
 * progress is cleared: the column shows the running attempt's ctx.progress, not the value a
 * failed attempt left.
 *
 * Plan (docs/benchmarks.md has the EXPLAIN): `c` locks the rows in id order (two statements that
 * lock overlapping tasks cannot deadlock) through tasks_status_id_idx (status, id) with both
 * columns as index conditions, so it costs one index descent per id however many finished tasks
 * the table holds. The UPDATE then reaches the rows by primary key (`id = any(array(...))`): an
 * `id in (subquery)` form was planned as a hash semi-join over a sequential scan of all tasks.
 */
export async function startTasks(db: Q, ids: number[], instanceId: string): Promise<Task[]> {
  const { rows } = await sql<Task>`
    with c as materialized (
      select id from baton.tasks
      where id = any(${ids}::bigint[]) and status = any(baton.transition_sources('claim'))
      order by id for update
    ), t as (
      update baton.tasks x set status = baton.task_transition(x.status, 'claim'), attempts = x.attempts + 1, locked_by = ${instanceId},
        started_at = now(), updated_at = now(), progress = null
      where x.id = any(array(select id from c))
      returning x.*
    ), s as (
      -- the rate-limit ledger (migrations/0011_queues.sql): one row per start of a task whose
      -- queue has a rate limit; unqueued tasks and other queues write nothing
      insert into baton.queue_starts (queue, started_at)
      select t.queue, t.started_at from t join baton.queues q on q.name = t.queue where q.rate_limit is not null
    )
    select * from t`.execute(db);
  return rows;
}

/** The lifecycle action (baton.task_transition) of each way an attempt can end. */
const OUTCOME_ACTION = { succeeded: "succeed", retry: "fail_retry", failed: "fail_final" } as const satisfies Record<
  Outcome["outcome"],
  TaskAction
>;

export interface Outcome {
  id: number;
  attempt: number;
  outcome: "succeeded" | "retry" | "failed";
  result?: unknown;
  error?: string | null;
  delayMs?: number;
  durationMs: number;
}

/**
 * Batched outcome bookkeeping, the twin of startTasks: status, result or error, the outcome log
 * row, and for retries a fresh graphile_worker job at run_at = now + backoff (the attempt's own
 * job is locked, so add_jobs clears its key and graphile_worker deletes it on completion).
 * The `status = 'processing' and locked_by = me and attempts = attempt` guard makes an outcome
 * that lost a race (canceled, reported done, recovered by another instance) change nothing.
 */
export async function finishTasks(
  db: Q,
  outcomes: Outcome[],
  instanceId: string,
): Promise<{ id: number; status: TaskStatus; scheduleId: number | null }[]> {
  const input = outcomes.map((o) => ({
    id: o.id,
    attempt: o.attempt,
    action: OUTCOME_ACTION[o.outcome],
    outcome: o.outcome,
    result: o.result === undefined ? null : o.result,
    error: o.error ?? null,
    delay_ms: o.delayMs ?? 0,
    duration_ms: Math.round(o.durationMs),
  }));
  const ids = outcomes.map((o) => o.id).sort((a, b) => a - b);
  // `c` looks each task up by primary key (the LATERAL subquery; OFFSET 0 keeps the status and
  // locked_by conditions out of it, so no other index can be chosen) and locks it, in id order. The
  // plainer `where id = any(ids) and status = 'processing'` was planned as a full scan of the
  // processing rows of an index (the planner believes few tasks are processing), whose dead
  // entries grow with every task run until vacuum: each batch got slower as history grew.
  // baton.task_transition is inlined (a CASE), so deciding the new status per row costs nothing.
  const { rows } = await sql<{ id: number; status: TaskStatus; scheduleId: number | null }>`
    with input as (
      select * from jsonb_to_recordset(${input}::jsonb) as x(
        id bigint, attempt int, action text, outcome text, result jsonb, error text, delay_ms int, duration_ms int)
    ), c as materialized (
      select x.id from unnest(${ids}::bigint[]) as u(id)
      cross join lateral (select id, status, locked_by from baton.tasks where id = u.id offset 0 for update) x
      where x.locked_by = ${instanceId}
    ), t as (
      update baton.tasks t set
        status = baton.task_transition(t.status, i.action),
        result = case when i.outcome = 'succeeded' then i.result else t.result end,
        last_error = case when i.outcome = 'succeeded' then t.last_error else i.error end,
        run_at = case when i.outcome = 'retry' then now() + i.delay_ms * interval '1 millisecond' else t.run_at end,
        finished_at = case when i.outcome = 'retry' then null else now() end,
        locked_by = null, updated_at = now()
      from input i
      where t.id = any(array(select id from c)) and t.id = i.id and t.attempts = i.attempt
        and baton.task_transition(t.status, i.action) is not null
      returning t.id, t.status, t.attempts, t.queue, t.run_at, t.priority, t.schedule_id, t.started_at, i.duration_ms, i.error, i.outcome
    ), l as (
      insert into baton.task_logs (task_id, attempt, event, instance_id, message, started_at, duration_ms)
      select id, attempts,
        case outcome when 'succeeded' then 'succeeded' when 'retry' then 'retry_scheduled' else 'failed' end,
        ${instanceId}, error, started_at, duration_ms
      from t
    ), specs as (
      select array_agg(baton.job_spec(id, queue, run_at, priority)) as specs from t where status = 'retrying'
    ), j as (
      -- only when something retries: add_jobs(NULL) would still NOTIFY 'jobs:insert' and wake
      -- every instance's pool after each finish batch
      select 1 from specs cross join lateral graphile_worker.add_jobs(specs.specs) where specs.specs is not null
    )
    select t.id, t.status, t.schedule_id, (select count(*) from j) as jobs from t`.execute(db);
  return rows;
}

/**
 * Returns tasks this instance holds to pending (used at shutdown when the drain timeout passes):
 * the interrupted attempt gets its outcome row (`returned`, with its start and its duration up
 * to now) and a new job is queued.
 */
export async function returnTasks(db: Q, ids: number[], instanceId: string, reason: string): Promise<number> {
  if (ids.length === 0) return 0;
  const { rows } = await sql<{ id: number }>`
    with t as (
      update baton.tasks set status = baton.task_transition(status, 'return'), locked_by = null,
        run_at = now(), updated_at = now()
      where id in (select id from baton.tasks where id = any(${ids}::bigint[])
                   and status = any(baton.transition_sources('return'))
                   and locked_by = ${instanceId} order by id for update)
      returning id, status, attempts, queue, run_at, priority, started_at
    ), l as (
      insert into baton.task_logs (task_id, attempt, event, instance_id, message, started_at, duration_ms)
      select id, attempts, 'returned', ${instanceId}, ${reason}, started_at,
        greatest(0, extract(epoch from now() - started_at) * 1000)::int
      from t
    ), j as (
      -- a task of a queue with a row came back waiting (tasks_gate): baton.admit gives it a job
      select 1 from graphile_worker.add_jobs((select array_agg(baton.job_spec(id, queue, run_at, priority)) from t where status = 'pending'))
    )
    select id, (select count(*) from j) as jobs from t`.execute(db);
  return rows.length;
}

/**
 * Backlog replenishment: when fewer than `threshold` tasks are pending, move up to `batch` backlog
 * tasks to pending (highest priority first, then oldest), with their jobs, in one statement.
 * SKIP LOCKED lets two concurrent releases take disjoint rows.
 */
export async function releaseBacklog(db: Q, threshold: number, batch: number, instanceId: string | null): Promise<{ released: number; pendingBefore: number }> {
  const { rows } = await sql<{ released: number; pendingBefore: number }>`
    with p as (select count(*)::int as n from baton.tasks where status = 'pending'),
    picked as (
      select id from baton.tasks
      where status = any(baton.transition_sources('release')) and (select n from p) < ${threshold}
      order by priority desc, id
      limit greatest(0, least(${batch}::int, ${threshold}::int - (select n from p)))
      for update skip locked
    ), t as (
      update baton.tasks set status = baton.task_transition(status, 'release'), run_at = now(), updated_at = now()
      where id in (select id from picked)
      returning id, status, queue, run_at, priority
    ), l as (
      insert into baton.task_logs (task_id, attempt, event, instance_id, message)
      select id, 0, 'note', ${instanceId}, 'released from backlog' from t
    ), j as (
      select 1 from graphile_worker.add_jobs((select array_agg(baton.job_spec(id, queue, run_at, priority)) from t where status = 'pending'))
    )
    select (select count(*) from t)::int as released, (select n from p) as pending_before,
           (select count(*) from j) as jobs`.execute(db);
  return rows[0];
}

export async function countByStatus(db: Q): Promise<Record<TaskStatus, number>> {
  const rows = await db
    .selectFrom("baton.tasks")
    .select(["status", (eb) => eb.fn.countAll<number>().as("n")])
    .groupBy("status")
    .execute();
  const out = { waiting: 0, backlog: 0, pending: 0, processing: 0, retrying: 0, completed: 0, failed: 0, canceled: 0 };
  for (const r of rows) out[r.status] = Number(r.n);
  return out;
}

export async function runningOn(db: Q, instanceId: string): Promise<Pick<Task, "id" | "type" | "title" | "startedAt" | "attempts">[]> {
  return db
    .selectFrom("baton.tasks")
    .select(["id", "type", "title", "startedAt", "attempts"])
    .where("status", "=", "processing")
    .where("lockedBy", "=", instanceId)
    .orderBy("id")
    .execute();
}
