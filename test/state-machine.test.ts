/**
 * The task lifecycle table (DESIGN.md "Task lifecycle"): SQL's baton.task_transition and the
 * typed copy in src/domain/tasks.ts agree on every (status, action) pair, and every pair walked
 * through the HTTP API, the worker's bookkeeping queries and the SQL functions ends where the
 * table says: the new status, or the same refusal (409, BT409, a bulk report's `conflicts`, an
 * attempt outcome that changes nothing).
 *
 * The instance runs without a worker or scheduler, so a task put into a status by SQL stays there
 * until the action under test moves it.
 */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { finishTasks, releaseBacklog, returnTasks, startTasks } from "../src/db/queries/tasks.js";
import {
  LIFECYCLE_STATUSES,
  type LifecycleStatus,
  TASK_ACTIONS,
  type TaskAction,
  TRANSITIONS,
  type TransitionTarget,
  transition,
} from "../src/domain/tasks.js";
import type { Service } from "../src/service.js";
import { createTestDb, type TestDb } from "./helpers/db.js";
import { api, startTestService } from "./helpers/service.js";

let tdb: TestDb;
let svc: Service;
let me = "";

beforeAll(async () => {
  tdb = await createTestDb();
  svc = await startTestService(tdb.url, { WORKER_ENABLED: "false", SCHEDULER_ENABLED: "false" });
  me = svc.config.INSTANCE_ID;
});
afterAll(async () => {
  await svc?.stop();
  await tdb?.drop();
});

const db = () => tdb.database.db;

describe("the lifecycle table", () => {
  it("baton.task_transition and domain TRANSITIONS give the same answer for every (status, action) pair", async () => {
    const actions = [...TASK_ACTIONS, "no_such_action"];
    const { rows } = await sql<{ from: string; action: string; to: string | null }>`
      select s as from, a as action, baton.task_transition(s, a) as to
      from unnest(${[...LIFECYCLE_STATUSES, "no_such_status"]}::text[]) s cross join unnest(${actions}::text[]) a`.execute(db());
    expect(rows).toHaveLength((LIFECYCLE_STATUSES.length + 1) * actions.length);
    const differ = rows.filter((r) => {
      const ts = TRANSITIONS[r.action as TaskAction]?.[r.from as LifecycleStatus] ?? null;
      return ts !== r.to;
    });
    expect(differ).toEqual([]);
  });

  it("the view baton.task_transitions lists exactly the allowed pairs", async () => {
    const { rows } = await sql<{ fromStatus: string; action: string; toStatus: string }>`
      select from_status, action, to_status from baton.task_transitions`.execute(db());
    const expected = TASK_ACTIONS.flatMap((a) =>
      Object.entries(TRANSITIONS[a]).map(([from, to]) => `${from} --${a}--> ${to}`),
    ).sort();
    expect(rows.map((r) => `${r.fromStatus} --${r.action}--> ${r.toStatus}`).sort()).toEqual(expected);
  });

  it("the status check admits every lifecycle status and nothing else", async () => {
    for (const status of LIFECYCLE_STATUSES) {
      await sql`insert into baton.tasks (type, status) values ('noop', ${status})`.execute(db());
    }
    await expect(sql`insert into baton.tasks (type, status) values ('noop', 'paused')`.execute(db())).rejects.toMatchObject({
      code: "23514",
    });
    await sql`delete from baton.tasks`.execute(db());
  });
});

/** A task put straight into `status` by SQL, shaped like one that got there on its own. */
async function taskIn(status: LifecycleStatus): Promise<number> {
  const started = !["waiting", "backlog", "pending"].includes(status);
  const { rows } = await sql<{ id: number }>`
    insert into baton.tasks (type, title, status, attempts, max_attempts, locked_by, started_at, finished_at, run_at)
    values ('noop', 'state machine', ${status}, ${started ? 1 : 0}, 3,
            ${status === "processing" ? me : null}, ${started ? sql`now()` : null},
            ${["completed", "failed", "canceled"].includes(status) ? sql`now()` : null}, now() + interval '1 hour')
    returning id`.execute(db());
  await sql`select baton.queue_jobs(${[rows[0].id]}::bigint[])`.execute(db());
  return rows[0].id;
}

async function statusOf(id: number): Promise<LifecycleStatus | "deleted"> {
  const { rows } = await sql<{ status: LifecycleStatus }>`select status from baton.tasks where id = ${id}`.execute(db());
  return rows[0]?.status ?? "deleted";
}

async function jobs(id: number): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from graphile_worker.jobs where key = ${`baton:${id}`}`.execute(db());
  return rows[0].n;
}

async function cleanUp(id: number): Promise<void> {
  await sql`select graphile_worker.remove_job(${`baton:${id}`})`.execute(db());
  await sql`delete from baton.tasks where id = ${id}`.execute(db());
}

/** Applies an action one way; true when it was accepted, false when it was refused. */
type Apply = (id: number) => Promise<boolean>;

const status = (res: { status: number }, ok: number) => {
  if (res.status !== ok && res.status !== 409) throw new Error(`unexpected HTTP ${res.status}`);
  return res.status === ok;
};
const report = (to: "completed" | "failed" | "pending"): Apply => async (id) => {
  const r = await api(svc.url, "POST", "/api/tasks/status", { completed: [], failed: [], pending: [], [to]: [id] });
  expect(r.status).toBe(200);
  expect(r.body.updated + r.body.conflicts.length).toBe(1);
  return r.body.updated === 1;
};
const finish = (outcome: "succeeded" | "retry" | "failed"): Apply => async (id) => {
  const { rows } = await sql<{ attempts: number }>`select attempts from baton.tasks where id = ${id}`.execute(db());
  const done = await finishTasks(db(), [{ id, attempt: rows[0].attempts, outcome, durationMs: 1, delayMs: 0, error: "e" }], me);
  return done.length === 1;
};
const sqlFunction = (fn: "cancel_task" | "retry_task"): Apply => async (id) => {
  try {
    await sql`select baton.${sql.raw(fn)}(${id})`.execute(db());
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === "BT409") return false;
    throw err;
  }
};

/** Parents made by the `open` appliers, deleted after each pair. */
const parents: number[] = [];

/**
 * `open` through a workflow (migrations/0013_workflows.sql): the task gets a parent (an edge in
 * baton.task_dependencies, as a create with dependsOn makes), and `settle` ends that parent. Only
 * a waiting task's gate opens; a task in any other status is left as it is (refused).
 */
const parentSettles = (parentIn: LifecycleStatus, settle: (parent: number) => Promise<void>, mode: "cancel" | "continue" = "cancel"): Apply =>
  async (id) => {
    const before = await statusOf(id);
    const parent = await taskIn(parentIn);
    parents.push(parent);
    await sql`update baton.tasks set on_parent_failure = ${mode} where id = ${id}`.execute(db());
    await sql`insert into baton.task_dependencies (task_id, depends_on) values (${id}, ${parent})`.execute(db());
    await settle(parent);
    return (await statusOf(id)) !== before;
  };

/** Every way each action is applied. */
const APPLIERS: Record<TaskAction, Record<string, Apply>> = {
  open: {
    "the parent's attempt succeeds (finishTasks)": parentSettles("processing", async (p) => {
      expect(await finishTasks(db(), [{ id: p, attempt: 1, outcome: "succeeded", durationMs: 1 }], me)).toHaveLength(1);
    }),
    "the parent is reported completed (POST /api/tasks/status)": parentSettles("pending", async (p) => {
      expect((await report("completed")(p)) as boolean).toBe(true);
    }),
    "the parent is canceled, onParentFailure continue (baton.cancel_task)": parentSettles(
      "backlog",
      async (p) => {
        expect(await sqlFunction("cancel_task")(p)).toBe(true);
      },
      "continue",
    ),
  },
  release: { "releaseBacklog (the release task type)": async () => (await releaseBacklog(db(), 1_000_000, 1, me)).released === 1 },
  claim: { "startTasks (worker)": async (id) => (await startTasks(db(), [id], me)).length === 1 },
  succeed: { "finishTasks (worker)": finish("succeeded") },
  fail_retry: { "finishTasks (worker)": finish("retry") },
  fail_final: { "finishTasks (worker)": finish("failed") },
  return: { "returnTasks (shutdown)": async (id) => (await returnTasks(db(), [id], me, "shutdown")) === 1 },
  cancel: {
    "POST /api/tasks/{id}/cancel": async (id) => status(await api(svc.url, "POST", `/api/tasks/${id}/cancel`), 200),
    "baton.cancel_task": sqlFunction("cancel_task"),
  },
  retry: {
    "POST /api/tasks/{id}/retry": async (id) => status(await api(svc.url, "POST", `/api/tasks/${id}/retry`), 200),
    "baton.retry_task": sqlFunction("retry_task"),
  },
  report_completed: { "POST /api/tasks/status completed": report("completed") },
  report_failed: { "POST /api/tasks/status failed": report("failed") },
  report_pending: { "POST /api/tasks/status pending": report("pending") },
  edit: { "PATCH /api/tasks/{id}": async (id) => status(await api(svc.url, "PATCH", `/api/tasks/${id}`, { title: "edited" }), 200) },
  delete: { "DELETE /api/tasks/{id}": async (id) => status(await api(svc.url, "DELETE", `/api/tasks/${id}`), 204) },
};
/** Paths that go through the API or SQL rather than a worker's own attempt: they keep the job invariant. */
const KEEPS_JOB_INVARIANT = new Set<TaskAction>(["open", "cancel", "retry", "report_completed", "report_failed", "report_pending", "edit", "delete"]);

describe("every (status, action) pair, applied every way", () => {
  for (const from of LIFECYCLE_STATUSES) {
    for (const [action, ways] of Object.entries(APPLIERS) as [TaskAction, Record<string, Apply>][]) {
      const expected: TransitionTarget | null = transition(from, action);
      it(`${from} --${action}--> ${expected ?? "refused"}`, async () => {
        const seen: Record<string, string> = {};
        for (const [way, apply] of Object.entries(ways)) {
          const id = await taskIn(from);
          try {
            const accepted = await apply(id);
            const after = await statusOf(id);
            seen[way] = accepted ? after : after === from ? "refused" : `refused, yet became ${after}`;
            if (KEEPS_JOB_INVARIANT.has(action) && after !== "deleted") {
              expect(await jobs(id), `${way}: jobs of a ${after} task`).toBe(after === "pending" || after === "retrying" ? 1 : 0);
            }
          } finally {
            await cleanUp(id);
            for (const p of parents.splice(0)) await cleanUp(p);
          }
        }
        const want = Object.fromEntries(Object.keys(ways).map((w) => [w, expected ?? "refused"]));
        expect(seen).toEqual(want);
      });
    }
  }
});

describe("open through a queue with a row", () => {
  it("a waiting task of a queue with a row that its parent's completion opens is admitted with one job, added once", async () => {
    await sql`insert into baton.queues (name, concurrency) values ('sm-open', 1)`.execute(db());
    const parent = await taskIn("pending");
    const child = await taskIn("waiting");
    await sql`insert into baton.task_dependencies (task_id, depends_on) values (${child}, ${parent})`.execute(db());
    // into the queue only now: its admission sees the edge and leaves the child waiting
    await sql`update baton.tasks set queue = 'sm-open', run_at = now() where id = ${child}`.execute(db());
    expect(await statusOf(child)).toBe("waiting");
    expect(await report("completed")(parent)).toBe(true);
    expect(await statusOf(child)).toBe("pending");
    // opened by the flow (waiting again at the queue's gate), then admitted: one job, never replaced
    const { rows } = await sql<{ revision: number }>`
      select revision from graphile_worker._private_jobs where key = ${`baton:${child}`}`.execute(db());
    expect(rows).toEqual([{ revision: 0 }]);
    await cleanUp(child);
    await cleanUp(parent);
    await sql`delete from baton.queues where name = 'sm-open'`.execute(db());
  });
});
