/**
 * Task dependencies across two real baton processes on one database (DESIGN.md invariant 10):
 * diamonds whose join starts only after both branches completed, a fan-in of 1,000 parents
 * finishing on both instances at once whose child is released exactly once (in the transaction
 * that completes its last parent), and a parent taken over from a kill -9 instance that still
 * releases its child exactly once.
 *
 * Every claim is read from the database: outcome rows (task_logs), task rows, and the jobs ever
 * added, recorded by a trigger on graphile_worker._private_jobs in this file's database (an
 * insert, or a replace that bumps the job's revision).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Sql } from "../src/db/client.js";
import { createTestDb, type TestDb } from "./helpers/db.js";
import { type Instance, spawnInstance } from "./helpers/process.js";
import { api, waitFor } from "./helpers/service.js";

let tdb: TestDb;
let sql: Sql;
let a: Instance;
let b: Instance;

beforeAll(async () => {
  tdb = await createTestDb();
  sql = tdb.database.sql;
  await sql`create table public.job_adds (key text, op text, revision int, at timestamptz not null default now())`;
  await sql`
    create function public.job_added() returns trigger language plpgsql as $$
    begin
      if tg_op = 'INSERT' or new.revision is distinct from old.revision then
        insert into public.job_adds (key, op, revision) values (new.key, tg_op, new.revision);
      end if;
      return null;
    end $$`;
  await sql`create trigger job_added after insert or update on graphile_worker._private_jobs for each row execute function public.job_added()`;
  // four slots and a local queue of eight each: one instance can hold at most twelve jobs, so
  // sixteen branch tasks must reach both
  const env = { WORKER_CONCURRENCY: "4", WORKER_LOCAL_QUEUE_SIZE: "8" };
  [a, b] = await Promise.all([spawnInstance(tdb.url, "wf-a", env), spawnInstance(tdb.url, "wf-b", env)]);
}, 120_000);

afterAll(async () => {
  if (b?.proc.pid && b.proc.exitCode === null && b.proc.signalCode === null) process.kill(b.proc.pid, "SIGCONT");
  await Promise.all([a?.kill(), b?.kill()]);
  await tdb?.drop();
});

interface Outcome {
  taskId: number;
  event: string;
  instanceId: string;
  startedAt: Date;
  createdAt: Date;
}
async function outcomes(ids: number[]): Promise<Outcome[]> {
  const rows = await sql<Outcome[]>`
    select task_id as "taskId", event, instance_id as "instanceId", started_at as "startedAt", created_at as "createdAt"
    from baton.task_logs where task_id = any(${ids}::bigint[]) and event <> 'note' order by id`;
  return rows.map((r) => ({ ...r, taskId: Number(r.taskId) }));
}
const completed = async (ids: number[]) =>
  (await sql<{ n: number }[]>`select count(*)::int as n from baton.tasks where id = any(${ids}::bigint[]) and status = 'completed'`)[0].n;
const jobAdds = async (id: number) => sql<{ op: string; at: Date }[]>`select op, at from public.job_adds where key = ${`baton:${id}`} order by at`;

it("diamonds A → B, C → D on two instances: each D starts only after both its B and C completed; every task runs once", async () => {
  const diamond = (i: number) => [
    { ref: `d${i}`, type: "noop", title: `D${i}`, dependsOn: [`b${i}`, `c${i}`] },
    { ref: `b${i}`, type: "simulate", title: `B${i}`, payload: { durationMs: 800 }, dependsOn: [`a${i}`] },
    { ref: `c${i}`, type: "simulate", title: `C${i}`, payload: { durationMs: 800 }, dependsOn: [`a${i}`] },
    { ref: `a${i}`, type: "noop", title: `A${i}` },
  ];
  // four diamonds created through each instance
  const made = await Promise.all(
    [a, b].map(async (inst, k) => {
      const r = await api(inst.url, "POST", "/api/tasks/batch", { tasks: [0, 1, 2, 3].flatMap((j) => diamond(k * 4 + j)) });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r.body.refs as Record<string, number>;
    }),
  );
  const refs = Object.assign({}, ...made) as Record<string, number>;
  const ids = Object.values(refs);
  expect(ids).toHaveLength(32);
  await waitFor(async () => (await completed(ids)) === 32, { timeoutMs: 60_000, what: "32 diamond tasks completed" });

  const outs = await outcomes(ids);
  expect(outs).toHaveLength(32);
  expect(outs.every((o) => o.event === "succeeded")).toBe(true);
  expect(new Set(outs.map((o) => o.taskId)).size).toBe(32);
  expect(new Set(outs.map((o) => o.instanceId))).toEqual(new Set([a.id, b.id]));
  const of = new Map(outs.map((o) => [o.taskId, o]));
  for (let i = 0; i < 8; i++) {
    const [A, B, C, D] = ["a", "b", "c", "d"].map((x) => of.get(refs[`${x}${i}`])!);
    for (const branch of [B, C]) expect(+branch.startedAt, `B/C${i} started before A${i} finished`).toBeGreaterThan(+A.createdAt);
    expect(+D.startedAt, `D${i} started before B${i} finished`).toBeGreaterThan(+B.createdAt);
    expect(+D.startedAt, `D${i} started before C${i} finished`).toBeGreaterThan(+C.createdAt);
  }
}, 120_000);

it("fan-in: 1,000 parents released at once and drained by both instances release their child exactly once, in the last parent's transaction", async () => {
  const tasks = [
    ...Array.from({ length: 1000 }, (_, i) => ({ ref: `p${i}`, type: "noop", hold: true })),
    { ref: "child", type: "noop", title: "fan-in child", dependsOn: Array.from({ length: 1000 }, (_, i) => `p${i}`) },
  ];
  const r = await api(a.url, "POST", "/api/tasks/batch", { tasks });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  const child = r.body.refs.child as number;
  const parents = Array.from({ length: 1000 }, (_, i) => r.body.refs[`p${i}`] as number);
  const [edges] = await sql<{ n: number }[]>`select count(*)::int as n from baton.task_dependencies where task_id = ${child}`;
  expect(edges.n).toBe(1000);
  // the gate opens for all 1,000 in one statement: both instances' pools race for them
  const released = await api(b.url, "POST", "/api/tasks/status", { completed: [], failed: [], pending: parents });
  expect(released.body.updated).toBe(1000);
  await waitFor(async () => (await completed([...parents, child])) === 1001, { timeoutMs: 90_000, what: "fan-in done" });

  const outs = await outcomes([...parents, child]);
  const parentRows = outs.filter((o) => o.taskId !== child);
  expect(parentRows).toHaveLength(1000);
  expect(parentRows.every((o) => o.event === "succeeded")).toBe(true);
  const byInstance = new Map<string, number>();
  for (const o of parentRows) byInstance.set(o.instanceId, (byInstance.get(o.instanceId) ?? 0) + 1);
  console.log(`fan-in parents per instance: ${JSON.stringify(Object.fromEntries(byInstance))}`);
  expect([...byInstance.keys()].sort()).toEqual([a.id, b.id].sort());

  const childRows = outs.filter((o) => o.taskId === child);
  expect(childRows.map((o) => o.event)).toEqual(["succeeded"]);
  const [t] = await sql<{ attempts: number }[]>`select attempts from baton.tasks where id = ${child}`;
  expect(t.attempts).toBe(1);
  const adds = await jobAdds(child);
  expect(adds.map((x) => x.op)).toEqual(["INSERT"]);
  const lastParentDone = Math.max(...parentRows.map((o) => +o.createdAt));
  // the job was added by the transaction that completed the last parent (the same now())
  expect(+adds[0].at).toBe(lastParentDone);
  expect(+childRows[0].startedAt).toBeGreaterThan(lastParentDone);
}, 150_000);

it("kill -9 of the instance running a parent: the survivor takes it over and the child is released exactly once", async () => {
  // Hold b still while a claims the parent, so it runs on a.
  process.kill(b.proc.pid!, "SIGSTOP");
  let parent = 0;
  let child = 0;
  try {
    const r = await api(a.url, "POST", "/api/tasks/batch", {
      tasks: [
        { ref: "p", type: "simulate", title: "crashing parent", payload: { durationMs: 1500 }, maxAttempts: 3 },
        { ref: "c", type: "noop", title: "child of a crash", dependsOn: ["p"] },
      ],
    });
    expect(r.status).toBe(200);
    parent = r.body.refs.p;
    child = r.body.refs.c;
    await waitFor(
      async () => (await sql`select 1 from baton.tasks where id = ${parent} and status = 'processing' and locked_by = ${a.id}`).length === 1,
      { timeoutMs: 20_000, what: "parent running on a" },
    );
  } finally {
    process.kill(b.proc.pid!, "SIGCONT");
  }
  await a.kill();
  await waitFor(async () => (await completed([parent, child])) === 2, { timeoutMs: 60_000, what: "parent and child completed after the crash" });

  const outs = await outcomes([parent, child]);
  const p = outs.filter((o) => o.taskId === parent);
  expect(p.map((o) => [o.event, o.instanceId])).toEqual([
    ["recovered", b.id],
    ["succeeded", b.id],
  ]);
  const c = outs.filter((o) => o.taskId === child);
  expect(c.map((o) => o.event)).toEqual(["succeeded"]);
  expect(+c[0].startedAt).toBeGreaterThan(+p[1].createdAt);
  const [t] = await sql<{ attempts: number }[]>`select attempts from baton.tasks where id = ${child}`;
  expect(t.attempts).toBe(1);
  expect((await jobAdds(child)).map((x) => x.op)).toEqual(["INSERT"]);
}, 120_000);
