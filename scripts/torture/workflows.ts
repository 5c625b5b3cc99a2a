/**
 * What the torture run reads about its running workflow (scripts/torture/load.ts, workflowTasks).
 * Every figure comes from the rows: baton.tasks (status, on_parent_failure, canceled_by,
 * finished_at), baton.task_dependencies (the edges) and the outcome rows of baton.task_logs (each
 * attempt's start and end, DESIGN.md invariant 3). Invariant 10 is what is checked:
 *
 *   - early: a child whose first attempt started before every parent had settled (completed, or
 *     for onParentFailure "continue" failed/canceled), compared as the child's first outcome row's
 *     started_at against each parent's finished_at. Both are the server's now() of their
 *     transactions, and the child's job exists only once its last parent's transaction committed;
 *   - repeated: a workflow task run more than once: more than one succeeded row, two outcome rows
 *     of one attempt, or an attempt after one that ended with no retry (succeeded, failed,
 *     canceled): what a child released twice would leave;
 *   - stuck: a child waiting while every parent is terminal. A child is released or canceled in the
 *     transaction that settles its last parent, so any one snapshot that shows this is a defect;
 *     the run looks every 2 s (stuckChildren) and once more at the end;
 *   - notCanceled: a "cancel" child of a parent that ended failed or canceled that is not canceled
 *     with canceled_by naming such a parent and a canceled row naming it; continueCanceled: a
 *     "continue" child canceled anyway.
 */
import type { Sql } from "./faults.js";
import { type FlowAck, workflowTasks } from "./load.js";

const TERMINAL = new Set(["completed", "failed", "canceled"]);
const ENDED_BADLY = new Set(["failed", "canceled"]);

export interface FlowTask {
  id: number;
  status: string;
  mode: "cancel" | "continue";
  canceledBy: number | null;
  /** epoch ms of the first attempt's start, null if it never started */
  firstStart: number | null;
  succeeded: number;
  /** outcome rows that share an attempt number, plus attempts no retry explains */
  repeats: number;
  /** a canceled row says "canceled: parent task <canceled_by> …" */
  cancelNamed: boolean;
  parents: { id: number; status: string; finishedAt: number | null }[];
  /** attempts made, and the message of the last outcome row (why a task ended as it did) */
  attempts: number;
  lastMessage: string | null;
}

/** The rows of every task of these workflows (report time, after the drain). */
export async function readFlowTasks(sql: Sql, ids: number[]): Promise<Map<number, FlowTask>> {
  const rows = await sql<(Omit<FlowTask, "firstStart" | "parents"> & { firstStart: string | null; parents: { id: number; status: string; finishedAt: number | null }[] })[]>`
    with o as (
      select l.task_id, l.attempt, l.event, l.started_at,
             lag(l.event) over (partition by l.task_id order by l.attempt, l.id) as prev
      from baton.task_logs l
      where l.task_id = any(${ids}::bigint[]) and l.attempt >= 1
        and l.event in ('succeeded', 'failed', 'retry_scheduled', 'canceled', 'recovered', 'returned')
    ), agg as (
      select task_id, min(started_at) as first_start,
             count(*) filter (where event = 'succeeded')::int as succeeded,
             (count(*) - count(distinct attempt)
               + count(*) filter (where prev is not null and prev not in ('retry_scheduled', 'recovered', 'returned')))::int as repeats
      from o group by task_id
    )
    select t.id, t.status, t.on_parent_failure as mode, t.canceled_by as "canceledBy",
           extract(epoch from least(a.first_start, case when t.attempts > 0 then t.started_at end)) * 1000 as "firstStart",
           coalesce(a.succeeded, 0) as succeeded, coalesce(a.repeats, 0) as repeats,
           exists (select 1 from baton.task_logs l
                   where l.task_id = t.id and l.event = 'canceled'
                     and l.message like 'canceled: parent task ' || t.canceled_by || ' %') as "cancelNamed",
           coalesce((select json_agg(json_build_object('id', p.id, 'status', p.status,
                                                       'finishedAt', extract(epoch from p.finished_at) * 1000) order by p.id)
                     from baton.task_dependencies d join baton.tasks p on p.id = d.depends_on
                     where d.task_id = t.id), '[]'::json) as parents,
           t.attempts,
           (select l.message from baton.task_logs l
            where l.task_id = t.id and l.event in ('succeeded', 'failed', 'retry_scheduled', 'canceled', 'recovered', 'returned')
            order by l.id desc limit 1) as "lastMessage"
    from baton.tasks t left join agg a on a.task_id = t.id
    where t.id = any(${ids}::bigint[])`;
  return new Map(
    rows.map((r) => [
      r.id,
      {
        ...r,
        firstStart: r.firstStart === null ? null : Number(r.firstStart),
        parents: r.parents.map((p) => ({ ...p, finishedAt: p.finishedAt === null ? null : Number(p.finishedAt) })),
      },
    ]),
  );
}

/** Children waiting now although every parent is terminal: a defect in any snapshot. */
export async function stuckChildren(sql: Sql): Promise<number[]> {
  const rows = await sql<{ id: number }[]>`
    select c.id from baton.tasks c
    where c.status = 'waiting'
      and exists (select 1 from baton.task_dependencies d where d.task_id = c.id)
      and not exists (select 1 from baton.task_dependencies d join baton.tasks p on p.id = d.depends_on
                      where d.task_id = c.id and p.status not in ('completed', 'failed', 'canceled'))`;
  return rows.map((r) => r.id);
}

export interface FlowFigures {
  /** acknowledged in the window */
  created: number;
  /** of those, every task ended as designed (diamond: all completed; failing: failed, canceled, completed) */
  completed: number;
  /** of those, every task terminal but not as designed (a retried part failed all 8 attempts) */
  otherEnd: number;
  /** each of those: which task ended how, after how many attempts, and its last outcome message */
  otherEnds: string[];
  /** workflows of the window (created in it, or open when it began) with a task not terminal at the end */
  open: number;
  early: number;
  repeated: number;
  stuck: number;
  notCanceled: number;
  continueCanceled: number;
  /** first ids of each violation, for the post-mortem */
  examples: string[];
}

/**
 * The workflow figures of a window: created counts the workflows acknowledged in [from, to); the
 * checks also cover the workflows that had a task open when it began (`openAtStart`, like the
 * tasks in flight when a fault began). `stuckSeen` are the children the run saw stuck on the way.
 */
export function flowFigures(
  flows: FlowAck[],
  tasks: Map<number, FlowTask>,
  stuckSeen: Set<number>,
  from: number,
  to: number,
  openAtStart: Set<number> = new Set(),
): FlowFigures {
  const created = flows.filter((f) => f.t >= from && f.t < to);
  const carried = flows.filter((f) => f.t < from && f.ids.some((id) => openAtStart.has(id)));
  const f: FlowFigures = { created: created.length, completed: 0, otherEnd: 0, otherEnds: [], open: 0, early: 0, repeated: 0, stuck: 0, notCanceled: 0, continueCanceled: 0, examples: [] };
  const note = (what: string, id: number) => {
    if (f.examples.length < 20) f.examples.push(`${what} ${id}`);
  };
  for (const flow of created) {
    const rows = flow.ids.map((id) => tasks.get(id));
    if (rows.some((r) => !r || !TERMINAL.has(r.status))) continue;
    if (rows.every((r, i) => r?.status === flow.expected[i])) f.completed++;
    else {
      f.otherEnd++;
      const refs = workflowTasks(flow.n).tasks.map((t) => String(t.ref));
      const why = rows
        .map((r, i) => (r && r.status !== flow.expected[i] ? `${refs[i]} (task ${r.id}) ${r.status} after ${r.attempts} attempt(s): ${r.lastMessage ?? "no outcome row"}` : null))
        .filter(Boolean);
      f.otherEnds.push(`workflow ${flow.n} (${flow.kind}): ${why.join("; ")}`);
    }
  }
  for (const flow of [...created, ...carried]) {
    const rows = flow.ids.map((id) => tasks.get(id));
    if (rows.some((r) => !r || !TERMINAL.has(r.status))) {
      f.open++;
      note("open", flow.ids[0]);
    }
    for (const t of rows) {
      if (!t) continue;
      if (t.succeeded > 1 || t.repeats > 0) {
        f.repeated++;
        note("repeated", t.id);
      }
      if (t.parents.length === 0) continue;
      const settled = (p: FlowTask["parents"][number]) => p.status === "completed" || (t.mode === "continue" && ENDED_BADLY.has(p.status));
      const start = t.firstStart;
      if (start !== null && t.parents.some((p) => !settled(p) || p.finishedAt === null || p.finishedAt > start)) {
        f.early++;
        note("early", t.id);
      }
      if (stuckSeen.has(t.id) || (t.status === "waiting" && t.parents.every((p) => TERMINAL.has(p.status)))) {
        f.stuck++;
        note("stuck", t.id);
      }
      const failedParents = t.parents.filter((p) => ENDED_BADLY.has(p.status)).map((p) => p.id);
      if (t.mode === "cancel" && failedParents.length > 0) {
        if (!(t.status === "canceled" && t.canceledBy !== null && failedParents.includes(t.canceledBy) && t.cancelNamed)) {
          f.notCanceled++;
          note("not canceled", t.id);
        }
      }
      if (t.mode === "continue" && t.status === "canceled") {
        f.continueCanceled++;
        note("continue canceled", t.id);
      }
    }
  }
  return f;
}

/** Every violation count of a window (the verdict wants each at 0). */
export const flowViolations = (f: FlowFigures): number => f.open + f.early + f.repeated + f.stuck + f.notCanceled + f.continueCanceled;
