/**
 * Every runtime query on baton.queues. The rules (admission within concurrency and rate limit,
 * pause) live in SQL (migrations/0011_queues.sql): writing a row here fires the same trigger a
 * DBA's UPDATE does, so the API adds no rule of its own.
 */
import { type Kysely, sql } from "kysely";
import type { DB } from "../types.js";

type Q = Kysely<DB>;

export interface RateLimit {
  limit: number;
  perSeconds: number;
}

export interface QueueRow {
  name: string;
  concurrency: number;
  rateLimit: RateLimit | null;
  paused: boolean;
  /** false for a queue that has tasks but no row: concurrency 1, no rate limit, not paused. */
  configured: boolean;
  createdAt: Date | null;
  updatedAt: Date | null;
  waiting: number;
  pending: number;
  running: number;
  startedLastMinute: number;
}

export interface QueueSettings {
  concurrency: number;
  rateLimit: RateLimit | null;
  paused: boolean;
}

/**
 * Queues with their live counts: every row of baton.queues, and every queue name that active
 * tasks carry without a row (shown with the defaults). Counts come from tasks_queue_gate_idx
 * (only active statuses of queued tasks are in it); startedLastMinute counts the outcome rows
 * whose attempt started in the last minute (task_logs_created_idx, BRIN) plus the attempts still
 * running that started in it.
 */
export async function listQueues(db: Q, name?: string): Promise<QueueRow[]> {
  const only = name === undefined ? sql`true` : sql`x.name = ${name}`;
  const { rows } = await sql<QueueRow>`
    with counts as (
      select queue as name,
        count(*) filter (where status = 'waiting')::int as waiting,
        count(*) filter (where status = 'pending')::int as pending,
        count(*) filter (where status = 'processing')::int as running
      from baton.tasks
      where queue is not null and status in ('waiting', 'pending', 'processing')
        ${name === undefined ? sql`` : sql`and queue = ${name}`}
      group by queue
    ), started as (
      select t.queue as name, count(*)::int as n
      from (
        select l.task_id from baton.task_logs l
        where l.created_at > now() - interval '1 minute' and l.started_at > now() - interval '1 minute'
        union all
        select id from baton.tasks where queue is not null and status = 'processing' and started_at > now() - interval '1 minute'
      ) s join baton.tasks t on t.id = s.task_id
      where t.queue is not null ${name === undefined ? sql`` : sql`and t.queue = ${name}`}
      group by t.queue
    ), x as (
      select coalesce(q.name, c.name) as name, q.concurrency, q.rate_limit, q.paused, q.created_at, q.updated_at,
             q.name is not null as configured
      from baton.queues q full join counts c on c.name = q.name
    )
    select x.name, coalesce(x.concurrency, 1) as concurrency, x.rate_limit, coalesce(x.paused, false) as paused,
           x.configured, x.created_at, x.updated_at,
           coalesce(c.waiting, 0) as waiting, coalesce(c.pending, 0) as pending, coalesce(c.running, 0) as running,
           coalesce(s.n, 0) as started_last_minute
    from x left join counts c on c.name = x.name left join started s on s.name = x.name
    where ${only}
    order by x.name`.execute(db);
  return rows;
}

/** One queue with its counts; a name without a row or tasks reads as the defaults. */
export async function getQueue(db: Q, name: string): Promise<QueueRow> {
  const [row] = await listQueues(db, name);
  return row ?? defaultQueue(name);
}

function defaultQueue(name: string): QueueRow {
  return {
    name,
    concurrency: 1,
    rateLimit: null,
    paused: false,
    configured: false,
    createdAt: null,
    updatedAt: null,
    waiting: 0,
    pending: 0,
    running: 0,
    startedLastMinute: 0,
  };
}

/**
 * Creates or replaces the queue's settings (PUT). The queues_changed trigger re-admits the
 * queue's unstarted tasks under the new limits in this same statement's transaction.
 */
export async function putQueue(db: Q, name: string, s: QueueSettings): Promise<void> {
  await sql`
    insert into baton.queues (name, concurrency, rate_limit, paused)
    values (${name}, ${s.concurrency}, ${s.rateLimit}::jsonb, ${s.paused})
    on conflict (name) do update set concurrency = excluded.concurrency, rate_limit = excluded.rate_limit,
      paused = excluded.paused, updated_at = now()`.execute(db);
}

/**
 * Pause or resume. A queue without a row gets one with the defaults (concurrency 1), since a
 * paused queue must be admitted by baton to hold its tasks back.
 */
export async function setQueuePaused(db: Q, name: string, paused: boolean): Promise<void> {
  await sql`
    insert into baton.queues (name, paused) values (${name}, ${paused})
    on conflict (name) do update set paused = excluded.paused, updated_at = now()
    where baton.queues.paused is distinct from excluded.paused`.execute(db);
}

/** Runs baton.admit for one queue (the baton:admit timer job when a rate window opens). */
export async function admitQueue(db: Q, name: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`select baton.admit(${name}) as n`.execute(db);
  return Number(rows[0]?.n ?? 0);
}

/**
 * Per queue with a row: waiting tasks (of which held by unfinished parents, migrations/0013), and
 * running / concurrency, for /metrics.
 */
export async function queueGauges(db: Q): Promise<{ name: string; paused: boolean; concurrency: number; running: number; waiting: number; waitingForParents: number; rateLimited: boolean; startsInWindow: number; rateLimit: number | null }[]> {
  const { rows } = await sql<{ name: string; paused: boolean; concurrency: number; running: number; waiting: number; waitingForParents: number; rateLimited: boolean; startsInWindow: number; rateLimit: number | null }>`
    select q.name, q.paused, q.concurrency,
      (select count(*)::int from baton.tasks t where t.queue = q.name and t.status in ('pending', 'processing')) as running,
      (select count(*)::int from baton.tasks t where t.queue = q.name and t.status = 'waiting') as waiting,
      (select count(*)::int from baton.tasks t where t.queue = q.name and t.status = 'waiting'
         and not baton.parents_settled(t.id, t.on_parent_failure)) as waiting_for_parents,
      q.rate_limit is not null as rate_limited,
      (select count(*)::int from baton.queue_starts s where s.queue = q.name
         and s.started_at > now() - ((q.rate_limit->>'perSeconds')::int * interval '1 second')) as starts_in_window,
      (q.rate_limit->>'limit')::int as rate_limit
    from baton.queues q order by q.name`.execute(db);
  return rows;
}
