/**
 * Workflow reads (task_dependencies, migrations/0013_workflows.sql) and progress writes. The
 * rules that release, cancel and revive tasks are in SQL; nothing here changes a status.
 */
import { type Kysely, sql } from "kysely";
import type { DB, Task } from "../types.js";

type Q = Kysely<DB>;

/** Parent ids and dependent ids of one task, each in id order. */
export async function edgesOf(db: Q, id: number): Promise<{ dependsOn: number[]; dependents: number[] }> {
  const { rows } = await sql<{ dependsOn: number[]; dependents: number[] }>`
    select
      array(select depends_on from baton.task_dependencies where task_id = ${id} order by 1) as "dependsOn",
      array(select task_id from baton.task_dependencies where depends_on = ${id} order by 1) as dependents`.execute(db);
  return { dependsOn: rows[0].dependsOn.map(Number), dependents: rows[0].dependents.map(Number) };
}

/** Most tasks GET /api/tasks/{id}/graph returns. */
export const GRAPH_LIMIT = 20_000;

/**
 * Every task connected to `id` through dependencies, in either direction (the workflow it belongs
 * to), and the edges among them (from: parent, to: child). Walks both indexes breadth-first; stops
 * at `limit` tasks (truncated: true).
 */
export async function workflowGraph(db: Q, id: number, limit = GRAPH_LIMIT): Promise<{ nodes: Task[]; edges: { from: number; to: number }[]; truncated: boolean }> {
  const { rows: ids } = await sql<{ id: number }>`
    with recursive g(id) as (
      select ${id}::bigint
      union
      select n.id from g
      cross join lateral (
        select d.depends_on as id from baton.task_dependencies d where d.task_id = g.id
        union all
        select d.task_id from baton.task_dependencies d where d.depends_on = g.id
      ) n
    )
    select id from g limit ${limit + 1}`.execute(db);
  const truncated = ids.length > limit;
  const nodeIds = ids.slice(0, limit).map((r) => Number(r.id));
  if (nodeIds.length === 0) return { nodes: [], edges: [], truncated: false };
  const nodes = await db.selectFrom("baton.tasks").selectAll().where("id", "in", nodeIds).orderBy("id").execute();
  const { rows: edges } = await sql<{ from: number; to: number }>`
    select depends_on as "from", task_id as "to" from baton.task_dependencies
    where task_id = any(${nodeIds}::bigint[]) and depends_on = any(${nodeIds}::bigint[])
    order by depends_on, task_id`.execute(db);
  return { nodes, edges: edges.map((e) => ({ from: Number(e.from), to: Number(e.to) })), truncated };
}

export interface ParentResult {
  id: number;
  type: string;
  title: string;
  status: Task["status"];
  result: unknown;
  lastError: string | null;
}

/** ctx.parents(): the parents of a task with their outcome, in id order. */
export async function parentResults(db: Q, id: number): Promise<ParentResult[]> {
  const { rows } = await sql<ParentResult>`
    select t.id, t.type, t.title, t.status, t.result, t.last_error as "lastError"
    from baton.task_dependencies d join baton.tasks t on t.id = d.depends_on
    where d.task_id = ${id}
    order by t.id`.execute(db);
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}

/**
 * Stores the progress of a running attempt. Guarded like an outcome: a write that arrives after
 * the attempt ended (canceled, recovered elsewhere) changes nothing. Returns whether it landed.
 */
export async function setProgress(
  db: Q,
  p: { taskId: number; attempt: number; instanceId: string; percent: number; message: string | null },
): Promise<boolean> {
  const { rows } = await sql<{ id: number }>`
    update baton.tasks set progress = jsonb_build_object('percent', ${p.percent}::numeric, 'message', ${p.message}::text, 'at', now()),
      updated_at = now()
    where id = ${p.taskId} and status = 'processing' and locked_by = ${p.instanceId} and attempts = ${p.attempt}
    returning id`.execute(db);
  return rows.length > 0;
}
