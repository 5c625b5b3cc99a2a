/**
 * Task dependencies in one process (DESIGN.md "Dependencies", invariant 10): bad input is a 400
 * naming the field with nothing stored; a chain of 100 from one batch runs strictly in order; a
 * parent that fails cancels its downstream tree and a retry revives it; cancel, retry and delete
 * follow onParentFailure; a queue with a row does not admit a task before its parent completed;
 * baton.enqueue(depends_on => …) keeps the same rules; a parent recovered from a dead instance
 * still releases its child once.
 *
 * Order is read from the database: the outcome rows (task_logs: started_at of an attempt, and the
 * row's created_at, the finishing transaction's time) and the task rows, never from timings.
 */
import { sql as kysql } from "kysely";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createSql, type Sql } from "../src/db/client.js";
import { registerTaskType } from "../src/worker/registry.js";
import { api, serviceForFile, waitFor } from "./helpers/service.js";

/** Names whose test.wf-flaky tasks fail for now. */
const failing = new Set<string>();

registerTaskType({
  name: "test.wf-flaky",
  description: "Test only: fails while its name is in the test's failing set.",
  params: z.object({ name: z.string() }),
  handler: async (p) => {
    if (failing.has(p.name)) throw new Error(`flaky ${p.name} failed`);
    return { name: p.name };
  },
});

registerTaskType({
  name: "test.wf-parents",
  description: "Test only: returns ctx.parents().",
  params: z.object({}),
  handler: async (_p, ctx) => ({ parents: await ctx.parents() }),
});

const s = serviceForFile({ WORKER_CONCURRENCY: "10", PRUNE_INTERVAL_MS: "0" });
const url = () => s.svc.url;
const sql = () => s.tdb.database.sql;

interface Row {
  id: number;
  status: string;
  attempts: number;
  canceledBy: number | null;
  result: unknown;
}

async function rows(ids: number[]): Promise<Map<number, Row>> {
  const r = await sql()<Row[]>`
    select id, status, attempts, canceled_by as "canceledBy", result from baton.tasks where id = any(${ids}::bigint[])`;
  return new Map(r.map((x) => [Number(x.id), { ...x, id: Number(x.id), canceledBy: x.canceledBy === null ? null : Number(x.canceledBy) }]));
}
const statusOf = async (id: number) => (await rows([id])).get(id)?.status;
const until = (ids: number[], status: string, timeoutMs = 30_000) =>
  waitFor(async () => [...(await rows(ids)).values()].filter((r) => r.status === status).length === ids.length, {
    what: `tasks ${ids.join(",")} ${status}`,
    timeoutMs,
  });
const jobs = async (id: number) => (await sql()<{ n: number }[]>`select count(*)::int as n from graphile_worker.jobs where key = ${`baton:${id}`}`)[0].n;
/** The outcome rows of each task: event, attempt, start and the finishing transaction's time. */
async function outcomes(ids: number[]) {
  const r = await sql()<{ taskId: number; event: string; message: string | null; startedAt: Date | null; createdAt: Date }[]>`
    select task_id as "taskId", event, message, started_at as "startedAt", created_at as "createdAt" from baton.task_logs
    where task_id = any(${ids}::bigint[]) and event <> 'note' order by id`;
  return r.map((x) => ({ ...x, taskId: Number(x.taskId) }));
}

async function batch(tasks: unknown[], extra: Record<string, unknown> = {}) {
  const r = await api(url(), "POST", "/api/tasks/batch", { tasks, ...extra });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body as { created: number; duplicates: number; ids: number[]; refs: Record<string, number> };
}
async function create(body: Record<string, unknown>): Promise<number> {
  const r = await api(url(), "POST", "/api/tasks", body);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.id;
}
const report = (body: Partial<Record<"completed" | "failed" | "pending", number[]>>) =>
  api(url(), "POST", "/api/tasks/status", { completed: [], failed: [], pending: [], ...body });

describe("bad input: a 400 problem naming the field, and nothing stored", () => {
  const counts = async () =>
    (
      await sql()<{ tasks: number; edges: number; jobs: number }[]>`
        select (select count(*)::int from baton.tasks) as tasks, (select count(*)::int from baton.task_dependencies) as edges,
               (select count(*)::int from graphile_worker.jobs) as jobs`
    )[0];
  let held = 0;
  const heldParent = async () => {
    held ||= await create({ type: "noop", hold: true, title: "bad-input parent" });
    return held;
  };

  const cases: [string, () => Promise<[string, unknown]>, string][] = [
    ["an unknown ref", async () => ["/api/tasks/batch", { tasks: [{ ref: "a", type: "noop" }, { type: "noop", dependsOn: ["a", "nope"] }] }], "tasks.1.dependsOn.1"],
    ["an unknown id (single create)", async () => ["/api/tasks", { type: "noop", dependsOn: [await heldParent(), 999_999_999] }], "dependsOn.1"],
    ["an unknown id (batch)", async () => ["/api/tasks/batch", { tasks: [{ type: "noop" }, { type: "noop", dependsOn: [999_999_998] }] }], "tasks.1.dependsOn.0"],
    ["a task depending on itself", async () => ["/api/tasks/batch", { tasks: [{ ref: "self", type: "noop", dependsOn: ["self"] }] }], "tasks.0.dependsOn.0"],
    [
      "a cycle inside a batch",
      async () => [
        "/api/tasks/batch",
        {
          tasks: [
            { ref: "a", type: "noop", dependsOn: ["c"] },
            { ref: "b", type: "noop", dependsOn: ["a"] },
            { ref: "c", type: "noop", dependsOn: ["b"] },
          ],
        },
      ],
      "tasks.0.dependsOn",
    ],
    ["dependsOn with hold (single)", async () => ["/api/tasks", { type: "noop", hold: true, dependsOn: [await heldParent()] }], "dependsOn"],
    [
      "dependsOn with hold (batch)",
      async () => ["/api/tasks/batch", { tasks: [{ ref: "p", type: "noop" }, { type: "noop", hold: true, dependsOn: ["p"] }] }],
      "tasks.1.dependsOn",
    ],
    [
      "more than 1,000 parents",
      async () => ["/api/tasks", { type: "noop", dependsOn: Array.from({ length: 1001 }, (_, i) => i + 1) }],
      "dependsOn",
    ],
    ["a ref on a single create", async () => ["/api/tasks", { type: "noop", ref: "solo" }], "ref"],
    ["a string in a single create's dependsOn", async () => ["/api/tasks", { type: "noop", dependsOn: ["extract"] }], "dependsOn.0"],
    ["a duplicate ref", async () => ["/api/tasks/batch", { tasks: [{ ref: "x", type: "noop" }, { ref: "x", type: "noop" }] }], "tasks.1.ref"],
    ["an unknown onParentFailure", async () => ["/api/tasks", { type: "noop", onParentFailure: "ignore" }], "onParentFailure"],
  ];
  for (const [what, request, field] of cases) {
    it(what, async () => {
      const [path, body] = await request();
      const before = await counts();
      const r = await api(url(), "POST", path, body);
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(r.headers.get("content-type")).toMatch(/application\/problem\+json/);
      expect(r.body.errors.map((e: { field: string }) => e.field)).toContain(field);
      expect(await counts()).toEqual(before);
    });
  }

  it("a cycle is named by its refs in the message", async () => {
    const r = await api(url(), "POST", "/api/tasks/batch", {
      tasks: [
        { ref: "extract", type: "noop", dependsOn: ["load"] },
        { ref: "load", type: "noop", dependsOn: ["extract"] },
      ],
    });
    expect(r.status).toBe(400);
    expect(r.body.errors[0].message).toMatch(/cycle: extract → load → extract/);
  });
});

describe("a chain, a diamond and the graph", () => {
  it("a chain of 100 from one batch (listed last first, refs order-free) runs strictly in order, each task once", async () => {
    const tasks = Array.from({ length: 100 }, (_, i) => ({ ref: `c${i}`, type: "noop", title: `chain ${i}`, dependsOn: i ? [`c${i - 1}`] : undefined })).reverse();
    const b = await batch(tasks);
    expect(b.created).toBe(100);
    const ids = Array.from({ length: 100 }, (_, i) => b.refs[`c${i}`]);
    expect(new Set(ids).size).toBe(100);
    await until(ids, "completed", 60_000);
    const outs = await outcomes(ids);
    expect(outs.map((o) => o.event)).toEqual(Array(100).fill("succeeded"));
    const byTask = new Map(outs.map((o) => [o.taskId, o]));
    for (let i = 1; i < 100; i++) {
      const parent = byTask.get(ids[i - 1])!;
      const child = byTask.get(ids[i])!;
      // the child's attempt started after the transaction that completed its parent
      expect(+child.startedAt!, `chain ${i} started before chain ${i - 1} finished`).toBeGreaterThan(+parent.createdAt);
    }
  });

  it("detail shows dependsOn and dependents; /graph returns every connected task and the edges", async () => {
    // the join is listed before the tasks it names
    const b = await batch([
      { ref: "join", type: "noop", dependsOn: ["part-1", "part-2"] },
      { ref: "part-1", type: "noop", dependsOn: ["split"] },
      { ref: "part-2", type: "noop", dependsOn: ["split"] },
      { ref: "split", type: "noop", hold: true },
    ]);
    const { split, join } = b.refs;
    const p1 = b.refs["part-1"];
    const p2 = b.refs["part-2"];
    const d = await api(url(), "GET", `/api/tasks/${join}`);
    expect(d.status).toBe(200);
    expect(d.body).toMatchObject({ status: "waiting", dependsOn: [p1, p2].sort((x, y) => x - y), dependents: [], onParentFailure: "cancel" });
    expect((await api(url(), "GET", `/api/tasks/${split}`)).body).toMatchObject({ status: "backlog", dependsOn: [], dependents: [p1, p2].sort((x, y) => x - y) });
    for (const from of [split, p1, join]) {
      const g = await api(url(), "GET", `/api/tasks/${from}/graph`);
      expect(g.status).toBe(200);
      expect(g.body.nodes.map((n: { id: number }) => n.id)).toEqual([split, p1, p2, join].sort((x, y) => x - y));
      const edges = g.body.edges.map((e: { from: number; to: number }) => `${e.from}->${e.to}`).sort();
      expect(edges).toEqual([`${split}->${p1}`, `${split}->${p2}`, `${p1}->${join}`, `${p2}->${join}`].sort());
      expect(g.body.truncated).toBe(false);
    }
    expect((await api(url(), "GET", "/api/tasks/999999999/graph")).status).toBe(404);
    // waiting tasks have no job; releasing the backlog parent runs the whole diamond
    for (const id of [p1, p2, join]) expect(await jobs(id)).toBe(0);
    expect((await report({ pending: [split] })).body.updated).toBe(1);
    await until([split, p1, p2, join], "completed");
  });

  it("dedupe: content — a ref to a task the batch repeats means the first one, so its child still waits for it", async () => {
    const payload = { unique: `content-${Date.now()}` };
    const b = await batch(
      [
        { ref: "first", type: "noop", payload, hold: true },
        { ref: "again", type: "noop", payload, hold: true },
        { ref: "child", type: "noop", dependsOn: ["again"] },
      ],
      { dedupe: "content" },
    );
    expect(b).toMatchObject({ created: 2, duplicates: 1 });
    expect(b.refs.again).toBe(b.refs.first);
    const edges = await sql()<{ dependsOn: number }[]>`select depends_on as "dependsOn" from baton.task_dependencies where task_id = ${b.refs.child}`;
    expect(edges.map((e) => Number(e.dependsOn))).toEqual([b.refs.first]);
    expect(await statusOf(b.refs.child)).toBe("waiting");
    await report({ completed: [b.refs.first] });
    await until([b.refs.child], "completed");
  });
});

describe("failure, cancel, retry and delete", () => {
  it("a parent failing after its retries cancels its whole downstream tree, each canceled row naming its parent; continue runs; retrying revives the tree", async () => {
    failing.add("root");
    const b = await batch([
      { ref: "root", type: "test.wf-flaky", payload: { name: "root" }, maxAttempts: 2, backoff: { baseMs: 10, maxMs: 10 } },
      { ref: "a", type: "test.wf-flaky", payload: { name: "a" }, dependsOn: ["root"] },
      { ref: "b", type: "test.wf-flaky", payload: { name: "b" }, dependsOn: ["root"] },
      { ref: "g", type: "test.wf-flaky", payload: { name: "g" }, dependsOn: ["a", "b"] },
      { ref: "k", type: "test.wf-parents", dependsOn: ["root"], onParentFailure: "continue" },
    ]);
    const { root, a, b: bb, g, k } = b.refs;
    await until([root], "failed");
    await until([a, bb, g], "canceled");
    await until([k], "completed");
    const r = await rows([root, a, bb, g, k]);
    expect(r.get(root)!.attempts).toBe(2);
    expect(r.get(a)!.canceledBy).toBe(root);
    expect(r.get(bb)!.canceledBy).toBe(root);
    expect(r.get(g)!.canceledBy).toBe(Math.min(a, bb)); // the first of its canceled parents
    const canceled = (await outcomes([a, bb, g])).filter((o) => o.event === "canceled");
    expect(canceled.map((o) => [o.taskId, o.message])).toEqual([
      [a, `canceled: parent task ${root} failed`],
      [bb, `canceled: parent task ${root} failed`],
      [g, `canceled: parent task ${Math.min(a, bb)} canceled`],
    ]);
    // the continue child ran with its parent's outcome in ctx.parents()
    expect(r.get(k)!.result).toMatchObject({ parents: [{ id: root, status: "failed", lastError: "flaky root failed" }] });
    for (const id of [a, bb, g]) expect(await jobs(id)).toBe(0);

    failing.delete("root");
    const retried = await api(url(), "POST", `/api/tasks/${root}/retry`);
    expect(retried.status).toBe(200);
    await until([root, a, bb, g], "completed");
    const after = await rows([a, bb, g, k]);
    for (const id of [a, bb, g]) expect(after.get(id)).toMatchObject({ attempts: 1, canceledBy: null });
    // the continue child is not run again
    expect(after.get(k)!.attempts).toBe(1);
    const succeeded = (await outcomes([root, a, bb, g, k])).filter((o) => o.event === "succeeded").map((o) => o.taskId);
    expect(succeeded.sort()).toEqual([root, a, bb, g, k].sort());
    // g started only after both of its parents' second lives completed
    const outs = await outcomes([a, bb, g]);
    const gStart = +outs.find((o) => o.taskId === g && o.event === "succeeded")!.startedAt!;
    for (const p of [a, bb]) expect(gStart).toBeGreaterThan(+outs.find((o) => o.taskId === p && o.event === "succeeded")!.createdAt);
  });

  it("retrying a parent revives only the dependents it canceled (canceled_by), not those another parent canceled", async () => {
    const [p1, p2] = [await create({ type: "noop", hold: true }), await create({ type: "noop", hold: true })];
    const child = await create({ type: "noop", dependsOn: [p1, p2] });
    // both fail in one statement: the child names the first of them
    expect((await report({ failed: [p1, p2] })).body.updated).toBe(2);
    expect((await rows([child])).get(child)).toMatchObject({ status: "canceled", canceledBy: Math.min(p1, p2) });
    const [first, second] = [Math.min(p1, p2), Math.max(p1, p2)];
    expect((await api(url(), "POST", `/api/tasks/${second}/retry`)).status).toBe(200);
    await until([second], "completed");
    expect((await rows([child])).get(child)).toMatchObject({ status: "canceled", canceledBy: first });
    expect((await api(url(), "POST", `/api/tasks/${first}/retry`)).status).toBe(200);
    await until([first, child], "completed");
    const notes = await sql()<{ message: string }[]>`select message from baton.task_logs where task_id = ${child} and event = 'note'`;
    expect(notes.map((n) => n.message)).toEqual([`waiting again: parent task ${first} was retried`]);
  });

  it("cancelling a waiting task works, and retrying it while its parent is unfinished leaves it waiting, without a job", async () => {
    const parent = await create({ type: "noop", hold: true });
    const child = await create({ type: "noop", dependsOn: [parent] });
    expect(await statusOf(child)).toBe("waiting");
    const c = await api(url(), "POST", `/api/tasks/${child}/cancel`);
    expect(c.status).toBe(200);
    expect(c.body.status).toBe("canceled");
    expect(await statusOf(parent)).toBe("backlog");
    const r = await api(url(), "POST", `/api/tasks/${child}/retry`);
    expect(r.status).toBe(200);
    expect(r.body.status).toBe("waiting");
    expect(await jobs(child)).toBe(0);
    await report({ pending: [parent] });
    await until([parent, child], "completed");
  });

  it("cancelling a parent while its children wait: onParentFailure cancel cancels, continue releases", async () => {
    const parent = await create({ type: "noop", hold: true });
    const doomed = await create({ type: "noop", dependsOn: [parent] });
    const goesOn = await create({ type: "test.wf-parents", dependsOn: [parent], onParentFailure: "continue" });
    expect((await api(url(), "POST", `/api/tasks/${parent}/cancel`)).status).toBe(200);
    const r = await rows([doomed]);
    expect(r.get(doomed)).toMatchObject({ status: "canceled", canceledBy: parent });
    await until([goesOn], "completed");
    expect((await rows([goesOn])).get(goesOn)!.result).toMatchObject({ parents: [{ id: parent, status: "canceled" }] });
  });

  it("a parent with waiting dependents cannot be deleted (409); a deleted failed parent counts as settled and releases a child retried behind it", async () => {
    failing.add("deleted-parent");
    const parent = await create({ type: "test.wf-flaky", payload: { name: "deleted-parent" }, maxAttempts: 1 });
    const blocker = await create({ type: "noop", hold: true });
    const waiter = await create({ type: "noop", dependsOn: [blocker] });
    const del = await api(url(), "DELETE", `/api/tasks/${blocker}`);
    expect(del.status).toBe(409);
    expect(del.headers.get("content-type")).toMatch(/application\/problem\+json/);
    expect(await statusOf(blocker)).toBe("backlog");
    expect(await statusOf(waiter)).toBe("waiting");

    const child = await create({ type: "noop", dependsOn: [parent] });
    await until([parent], "failed");
    await until([child], "canceled");
    // baton.retry_task of a child whose parent is still failed: waiting, no job
    const [retried] = await sql()<{ status: string }[]>`select status from baton.retry_task(${child})`;
    expect(retried.status).toBe("waiting");
    expect(await jobs(child)).toBe(0);
    expect(await statusOf(child)).toBe("waiting");
    expect((await api(url(), "DELETE", `/api/tasks/${parent}`)).status).toBe(204);
    await until([child], "completed");
    failing.delete("deleted-parent");
    await api(url(), "POST", `/api/tasks/${blocker}/cancel`);
    expect(await statusOf(waiter)).toBe("canceled");
  });

  it("a parent that already failed when the child is created cancels it at once; one that completed releases it at once", async () => {
    const done = await create({ type: "noop" });
    await until([done], "completed");
    const ok = await create({ type: "noop", dependsOn: [done] });
    const failed = await create({ type: "noop", hold: true });
    await report({ failed: [failed] });
    const r = await api(url(), "POST", "/api/tasks", { type: "noop", dependsOn: [failed] });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ status: "canceled", canceledBy: failed });
    await until([ok], "completed");
  });
});

describe("queues and dependencies", () => {
  it("a task of a queue with a row (concurrency 1) is not admitted before its parent completes, though the queue is free", async () => {
    expect((await api(url(), "PUT", "/api/queues/wf-serial", { concurrency: 1 })).status).toBe(200);
    const parent = await create({ type: "noop", hold: true });
    const child = await create({ type: "noop", queue: "wf-serial", dependsOn: [parent] });
    const other = await create({ type: "noop", queue: "wf-serial" });
    // the queue's slot is free: a task without a parent runs through it
    await until([other], "completed");
    expect(await statusOf(child)).toBe("waiting");
    expect(await jobs(child)).toBe(0);
    const [admitted] = await sql()<{ n: number }[]>`select baton.admit('wf-serial') as n`;
    expect(admitted.n).toBe(0);
    expect(await statusOf(child)).toBe("waiting");
    // /metrics names the parent as what holds it, not the queue
    await waitFor(
      async () => {
        const t = await (await fetch(`${url()}/metrics`)).text();
        return t.includes('baton_queue_waiting{queue="wf-serial",reason="parents"} 1') && t.includes('baton_queue_waiting{queue="wf-serial",reason="scheduled"} 0');
      },
      { what: "wf-serial: one waiting for its parent in /metrics" },
    );
    await report({ pending: [parent] });
    await until([parent, child], "completed");
    const outs = await outcomes([parent, child]);
    const p = outs.find((o) => o.taskId === parent && o.event === "succeeded")!;
    const c = outs.find((o) => o.taskId === child && o.event === "succeeded")!;
    expect(+c.startedAt!).toBeGreaterThan(+p.createdAt);
  });

  it("a child in a queue with a row gets exactly one job when its parent completes", async () => {
    expect((await api(url(), "PUT", "/api/queues/wf-paused", { concurrency: 1, paused: true })).status).toBe(200);
    const parent = await create({ type: "noop", hold: true });
    const child = await create({ type: "noop", queue: "wf-paused", dependsOn: [parent] });
    await report({ completed: [parent] });
    // parents settled, but the queue is paused: still waiting, held by the queue now
    expect(await statusOf(child)).toBe("waiting");
    expect((await api(url(), "GET", "/api/queues/wf-paused")).body).toMatchObject({ waiting: 1 });
    await waitFor(
      async () => {
        const t = await (await fetch(`${url()}/metrics`)).text();
        return t.includes('baton_queue_waiting{queue="wf-paused",reason="paused"} 1') && t.includes('baton_queue_waiting{queue="wf-paused",reason="parents"} 0');
      },
      { what: "wf-paused: one waiting for the pause in /metrics" },
    );
    await api(url(), "POST", "/api/queues/wf-paused/resume");
    await until([child], "completed");
  });
});

describe("lock order", () => {
  type Session = Awaited<ReturnType<Sql["reserve"]>>;
  const deadlocks = async () =>
    Number((await sql()<{ n: string }[]>`select deadlocks as n from pg_stat_database where datname = current_database()`)[0].n);

  /** Two dedicated sessions, for interleaving transactions by hand. */
  async function twoSessions<T>(fn: (one: Session, two: Session) => Promise<T>): Promise<T> {
    const pools = [createSql(s.tdb.url, 1), createSql(s.tdb.url, 1)];
    const [one, two] = [await pools[0].reserve(), await pools[1].reserve()];
    try {
      return await fn(one, two);
    } finally {
      one.release();
      two.release();
      await Promise.all(pools.map((p) => p.end()));
    }
  }

  /**
   * Completes task `id` in `session`'s open transaction as a DBA's UPDATE would, and returns once
   * that statement waits for a lock; `done` resolves to its error, or null.
   */
  async function completeUntilBlocked(session: Session, id: number): Promise<{ done: Promise<unknown> }> {
    const [{ pid }] = await session<{ pid: number }[]>`select pg_backend_pid() as pid`;
    const done = session`update baton.tasks set status = 'completed', finished_at = now() where id = ${id}`.then(
      () => null,
      (e: unknown) => e,
    );
    await waitFor(async () => (await sql()`select 1 from pg_stat_activity where pid = ${pid} and wait_event_type = 'Lock'`).length === 1, {
      what: `the completion of task ${id} waits for a lock`,
    });
    return { done };
  }

  it("a parent completing while its waiting child of the same queue (with a row) is canceled: both commit, no deadlock", async () => {
    expect((await api(url(), "PUT", "/api/queues/wf-lock-order", { concurrency: 1 })).status).toBe(200);
    const parent = await create({ type: "noop", queue: "wf-lock-order", hold: true });
    const child = await create({ type: "noop", queue: "wf-lock-order", dependsOn: [parent] });
    const before = await deadlocks();
    const { canceled, finished } = await twoSessions(async (canceler, finisher) => {
      // the cancel's transaction holds the child first (as baton.cancel_task's lock does)
      await canceler`begin`;
      await canceler`select 1 from baton.tasks where id = ${child} for update`;
      // the parent completes in another transaction; its triggers need the child and the queue row
      await finisher`begin`;
      const { done } = await completeUntilBlocked(finisher, parent);
      // now the cancel, whose statement admits the queue (it takes the queue's row)
      const canceled = await canceler`select status from baton.cancel_task(${child})`.then(
        (r) => r[0].status as string,
        (e: unknown) => e,
      );
      await canceler`commit`.catch(() => {});
      const finished = await done;
      await finisher`commit`.catch(() => {});
      return { canceled, finished };
    });
    expect(canceled).toBe("canceled");
    expect(finished).toBeNull();
    expect((await rows([parent, child])).get(child)!.status).toBe("canceled");
    expect(await statusOf(parent)).toBe("completed");
    expect(await deadlocks()).toBe(before);
  });

  /**
   * A child of a queue with a row is created while its parent (same queue) completes. The create
   * is held inside its insert just after the insert's admission took the queue's row (a lock on
   * baton.task_titles holds the titles trigger, which fires after tasks_admit_insert); then the
   * parent's completion starts. Parents locked only after the insert deadlocked here: the
   * completion held the parent and waited for the queue's row, the create held the queue's row
   * and waited for the parent.
   */
  async function createWhileParentCompletes(queue: string, start: (parent: number) => Promise<unknown>) {
    expect((await api(url(), "PUT", `/api/queues/${queue}`, { concurrency: 5 })).status).toBe(200);
    const parent = await create({ type: "noop", queue, hold: true });
    return twoSessions(async (gate, finisher) => {
      await gate`begin`;
      await gate`lock table baton.task_titles in share mode`;
      const creating = start(parent).catch((e: unknown) => e);
      await waitFor(
        async () => (await sql()`select 1 from pg_locks where relation = 'baton.task_titles'::regclass and not granted`).length > 0,
        { what: "the create waits inside its insert" },
      );
      await finisher`begin`;
      const { done } = await completeUntilBlocked(finisher, parent);
      await gate`commit`;
      const created = await creating;
      const finished = await done;
      await finisher`commit`.catch(() => {});
      return { parent, created, finished };
    });
  }

  it("POST /api/tasks with a parent of its queue completing meanwhile: both commit, the child runs once", async () => {
    const before = await deadlocks();
    const { parent, created, finished } = await createWhileParentCompletes("wf-create-api", (p) =>
      api(url(), "POST", "/api/tasks", { type: "noop", title: "created while its parent completes", queue: "wf-create-api", dependsOn: [p] }),
    );
    expect(finished).toBeNull();
    const r = created as { status: number; body: { id: number } };
    expect(r.status).toBe(201);
    await until([parent, r.body.id], "completed");
    expect((await rows([r.body.id])).get(r.body.id)!.attempts).toBe(1);
    expect(await deadlocks()).toBe(before);
  });

  it("baton.enqueue with a parent of its queue completing meanwhile: both commit, the child runs once", async () => {
    const { parent, created, finished } = await createWhileParentCompletes("wf-create-sql", async (p) => {
      const [{ id }] = await sql()<{ id: number }[]>`
        select baton.enqueue('noop', p_title => 'enqueued while its parent completes', p_queue => 'wf-create-sql', depends_on => array[${p}]::bigint[]) as id`;
      return Number(id);
    });
    expect(finished).toBeNull();
    expect(typeof created).toBe("number");
    await until([parent, created as number], "completed");
  });

  /**
   * Two parents of one child complete in two transactions at once: the first holds the child's
   * row lock (its trigger decided the child: one parent left) when the second one's trigger asks
   * for it; the second decides after the first committed. Returns the second's error, if any.
   */
  async function completeBothParents(isolation: "read committed" | "repeatable read") {
    const p1 = await create({ type: "noop", hold: true });
    const p2 = await create({ type: "noop", hold: true });
    const child = await create({ type: "noop", dependsOn: [p1, p2] });
    const err = await twoSessions(async (first, second) => {
      await first`begin`;
      await first`update baton.tasks set status = 'completed', finished_at = now() where id = ${p1}`;
      await second.unsafe(`begin isolation level ${isolation}`);
      const { done } = await completeUntilBlocked(second, p2);
      await first`commit`;
      const e = await done;
      await (e ? second`rollback` : second`commit`);
      return e;
    });
    return { p2, child, err };
  }

  it("two parents of one child completed at once (READ COMMITTED): the second transaction releases the child", async () => {
    const { child, err } = await completeBothParents("read committed");
    expect(err).toBeNull();
    await until([child], "completed");
  });

  it("the same with the second transaction REPEATABLE READ: it fails to serialize (40001) instead of stranding the child", async () => {
    const { p2, child, err } = await completeBothParents("repeatable read");
    // its snapshot predates the first parent's completion: it must not decide the child from it
    expect(err).toMatchObject({ code: "40001" });
    expect(await statusOf(child)).toBe("waiting");
    // retried, it sees both parents completed and releases the child
    await sql().begin("isolation level repeatable read", (tx) => tx`update baton.tasks set status = 'completed', finished_at = now() where id = ${p2}`);
    await until([child], "completed");
  });
});

describe("SQL: baton.enqueue(..., depends_on => …)", () => {
  it("creates a waiting task without a job that the parent's completion releases (a DBA's UPDATE too)", async () => {
    const [{ p }] = await sql()<{ p: number }[]>`select baton.enqueue('noop', '{}'::jsonb, 'sql parent', 0, null, now() + interval '1 hour') as p`;
    const [{ c }] = await sql()<{ c: number }[]>`select baton.enqueue('noop', depends_on => array[${p}]::bigint[]) as c`;
    expect(await statusOf(c)).toBe("waiting");
    expect(await jobs(c)).toBe(0);
    const [{ d }] = await sql()<{ d: number }[]>`select baton.enqueue('noop', depends_on => array[${p}]::bigint[], p_title => 'by hand') as d`;
    // a DBA finishes the parent by hand: the trigger releases both in that transaction
    await sql()`update baton.tasks set status = 'completed', finished_at = now() where id = ${p}`;
    await sql()`select graphile_worker.remove_job(${`baton:${p}`})`;
    await until([c, d], "completed");
  });

  it("runs the child after the worker completes the parent", async () => {
    const [{ p }] = await sql()<{ p: number }[]>`select baton.enqueue('noop', '{}'::jsonb, 'sql parent 2') as p`;
    const [{ c }] = await sql()<{ c: number }[]>`select baton.enqueue('test.wf-parents', depends_on => array[${p}]::bigint[]) as c`;
    await until([p, c], "completed");
    expect((await rows([c])).get(c)!.result).toMatchObject({ parents: [{ id: p, status: "completed" }] });
  });

  it("an unknown parent id is an error naming depends_on, and nothing is stored", async () => {
    const [before] = await sql()<{ n: number }[]>`select count(*)::int as n from baton.tasks`;
    await expect(sql()`select baton.enqueue('noop', depends_on => array[999999997]::bigint[])`).rejects.toMatchObject({
      code: "22023",
      message: expect.stringMatching(/^depends_on: task 999999997 does not exist/),
    });
    await expect(sql()`select baton.enqueue('noop', depends_on => array[1]::bigint[], on_parent_failure => 'later')`).rejects.toMatchObject({
      code: "22023",
      message: expect.stringMatching(/^on_parent_failure/),
    });
    const [after] = await sql()<{ n: number }[]>`select count(*)::int as n from baton.tasks`;
    expect(after.n).toBe(before.n);
  });

  it("baton.retry_task of a child whose parent is still failed leaves it waiting; retrying the parent then runs both", async () => {
    const [{ p }] = await sql()<{ p: number }[]>`select baton.enqueue('noop', '{}'::jsonb, 'to fail', 0, null, now() + interval '1 hour') as p`;
    const [{ c }] = await sql()<{ c: number }[]>`select baton.enqueue('noop', depends_on => array[${p}]::bigint[]) as c`;
    await report({ failed: [p] });
    expect((await rows([c])).get(c)).toMatchObject({ status: "canceled", canceledBy: p });
    const [r] = await sql()<{ status: string; canceledBy: number | null }[]>`select status, canceled_by as "canceledBy" from baton.retry_task(${c})`;
    expect(r).toEqual({ status: "waiting", canceledBy: null });
    expect(await jobs(c)).toBe(0);
    await sql()`select baton.retry_task(${p})`;
    await until([p, c], "completed");
  });
});

describe("crash recovery", () => {
  it("a parent taken over from a dead instance still releases its child exactly once", async () => {
    const db = s.tdb.database.db;
    await kysql`
      insert into baton.instances (id, host, pid, version, concurrency, worker_pool_id, heartbeat_at, dead_after_ms, started_at)
      values ('wf-dead', 'test', 1, 'test', 10, 'wf-dead-pool', now() - interval '1 minute', 1000, now() - interval '1 hour')`.execute(db);
    // the parent is what a dead instance leaves: processing, locked by it, its job locked by its pool
    const [{ p }] = await sql()<{ p: number }[]>`select baton.enqueue('noop', '{}'::jsonb, 'crashed parent', 0, null, now() + interval '1 hour') as p`;
    const [{ c }] = await sql()<{ c: number }[]>`select baton.enqueue('noop', depends_on => array[${p}]::bigint[]) as c`;
    await sql()`update graphile_worker._private_jobs set locked_at = now(), locked_by = 'wf-dead-pool', run_at = now() where key = ${`baton:${p}`}`;
    await sql()`update baton.tasks set status = 'processing', attempts = 1, locked_by = 'wf-dead', started_at = now(), run_at = now() where id = ${p}`;
    expect(await statusOf(c)).toBe("waiting");
    // the running service's recovery pass finds the dead instance and retries the parent
    await until([p, c], "completed");
    const outs = await outcomes([p, c]);
    expect(outs.filter((o) => o.taskId === p).map((o) => o.event)).toEqual(["recovered", "succeeded"]);
    expect(outs.filter((o) => o.taskId === c).map((o) => o.event)).toEqual(["succeeded"]);
    expect((await rows([c])).get(c)!.attempts).toBe(1);
  });
});
