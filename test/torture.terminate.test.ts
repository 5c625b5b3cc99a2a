/**
 * The torture run's "terminate backends" phase as a suite test: two real instances under the
 * mixed load (scripts/torture/load.ts) have every one of their connections killed with
 * pg_terminate_backend, in rounds. Neither process may exit, and afterwards every acknowledged
 * task reaches a terminal status (none lost, none gone) and none has more than one succeeded
 * outcome row, read from the database. The load's running workflow (diamonds, and parents that
 * fail for good with a "cancel" and a "continue" child) rides it out too: no child starts before
 * its parents settled, none runs twice, none is left waiting, every "cancel" child of a failed
 * parent is canceled by it (scripts/torture/workflows.ts).
 *
 * Each round first takes row locks on the claimed graphile-worker jobs, so the termination finds
 * a job completion waiting on them: graphile-worker then shuts its pool down on its own, the path
 * where the torture run saw an instance die (an `error` event of its pg pool after it had removed
 * its own handler, and an unhandled rejection of its local queue returning jobs). With the locks
 * the test hits that path in the first round instead of by chance.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { harnessSql, type Sql, terminateBackends } from "../scripts/torture/faults.js";
import { Load } from "../scripts/torture/load.js";
import { lost, verdict } from "../scripts/torture/measure.js";
import { flowFigures, readFlowTasks, stuckChildren } from "../scripts/torture/workflows.js";
import { createTestDb, type TestDb } from "./helpers/db.js";
import { type Instance, spawnInstance } from "./helpers/process.js";
import { waitFor } from "./helpers/service.js";

const ENV = { WORKER_CONCURRENCY: "4", PRUNE_INTERVAL_MS: "0", SHUTDOWN_TIMEOUT_MS: "3000" };
/** Tasks per second of the load, and rounds of termination. */
const RATE = 60;
const TERMINATIONS = 8;
/** Workflows per second of the load (the torture run has one per 40 tasks/s; a few more here). */
const WORKFLOWS = 2;

let tdb: TestDb;
let sql: Sql;
let a: Instance | undefined;
let b: Instance | undefined;

beforeAll(async () => {
  tdb = await createTestDb();
  sql = harnessSql(tdb.url, { max: 3 });
  [a, b] = await Promise.all([spawnInstance(tdb.url, `torture-term-a-${process.pid}`, ENV), spawnInstance(tdb.url, `torture-term-b-${process.pid}`, ENV)]);
}, 120_000);

afterAll(async () => {
  await Promise.all([a?.kill(), b?.kill()]);
  await sql?.end({ timeout: 5 });
  await tdb?.drop();
});

it("terminating every backend of both instances, again and again, crashes neither and loses no task or runs one twice", async () => {
  const exits: string[] = [];
  for (const inst of [a!, b!]) void inst.exited.then((code) => exits.push(`${inst.id} exited with ${code}`));
  const load = new Load(() => [a!.url, b!.url]);
  load.setWorkflowRate(WORKFLOWS);
  load.start(RATE);
  // children left waiting by parents that are all terminal, looked for while the faults go on
  const stuckSeen = new Set<number>();
  const watch = setInterval(() => {
    stuckChildren(sql).then(
      (ids) => {
        for (const id of ids) stuckSeen.add(id);
      },
      () => {},
    );
  }, 1000);
  try {
    await waitFor(() => load.acks.length >= 40, { timeoutMs: 60_000, what: "40 tasks acknowledged before the fault" });
    await waitFor(async () => (await sql<{ n: number }[]>`select count(*)::int as n from baton.task_logs where event = 'succeeded'`)[0].n >= 10, {
      timeoutMs: 60_000,
      what: "tasks completing before the fault",
    });
    for (let i = 0; i < TERMINATIONS; i++) {
      // Row locks on the claimed jobs make their completion wait, so the termination catches
      // graphile-worker mid-completeJobs: the path where it shuts its pool down on its own.
      const holder = await sql.reserve();
      await holder`begin`;
      await holder`select id from graphile_worker._private_jobs where locked_at is not null for update skip locked`;
      await waitFor(
        async () =>
          (await sql<{ n: number }[]>`select count(*)::int as n from pg_stat_activity where datname = ${tdb.name} and wait_event_type = 'Lock'`)[0].n > 0,
        { timeoutMs: 10_000, intervalMs: 20, what: "a job completion waiting on its row lock" },
      ).catch(() => {});
      const terminated = await terminateBackends(sql, tdb.name);
      await holder`commit`;
      holder.release();
      // both instances had connections: their pools, graphile-worker's and its LISTEN client
      expect(terminated).toBeGreaterThanOrEqual(4);
      // the next round once both instances are back at work (each completed tasks since)
      const seen = await succeeded();
      await waitFor(async () => (await succeeded()) >= seen + 20 || exits.length > 0, { timeoutMs: 60_000, what: "tasks completing after the fault" });
      if (exits.length) break;
    }
    const before = load.acks.length;
    await waitFor(() => load.acks.length >= before + 40 || exits.length > 0, { timeoutMs: 60_000, what: "40 more tasks acknowledged after the faults" });
    // Workflow creates answered 503 during a fault are not recorded, so a fast run can end with
    // one failing workflow only: the load runs on until both kinds have several acknowledged.
    const kinds = (kind: string) => load.flows.filter((f) => f.kind === kind).length;
    await waitFor(() => (kinds("diamond") > 5 && kinds("failing") > 1) || exits.length > 0, {
      timeoutMs: 60_000,
      what: "more than 5 diamonds and 1 failing workflow acknowledged",
    });
  } finally {
    await load.stop();
    clearInterval(watch);
  }
  expect(exits).toEqual([]);
  const ids = load.acks.map((x) => x.id);
  const flowIds = load.flows.flatMap((f) => f.ids);
  await waitFor(async () => lost(await verdict(sql, [...ids, ...flowIds])).length === 0, {
    timeoutMs: 90_000,
    intervalMs: 500,
    what: "every acknowledged task terminal",
  }).catch(() => {});
  const v = await verdict(sql, ids);
  expect(v.gone).toEqual([]);
  expect(v.open).toEqual([]);
  expect(v.duplicated).toEqual([]);
  expect(v.completed + v.failed).toBe(ids.length);

  // the workflows: both kinds were created, and every check of invariant 10 holds
  expect(load.flows.filter((f) => f.kind === "diamond").length).toBeGreaterThan(5);
  expect(load.flows.filter((f) => f.kind === "failing").length).toBeGreaterThan(1);
  expect(flowIds.every(Number.isFinite)).toBe(true);
  for (const id of await stuckChildren(sql)) stuckSeen.add(id);
  const f = flowFigures(load.flows, await readFlowTasks(sql, flowIds), stuckSeen, 0, Date.now() + 1);
  expect({ open: f.open, early: f.early, repeated: f.repeated, stuck: f.stuck, notCanceled: f.notCanceled, continueCanceled: f.continueCanceled, examples: f.examples }).toEqual({
    open: 0,
    early: 0,
    repeated: 0,
    stuck: 0,
    notCanceled: 0,
    continueCanceled: 0,
    examples: [],
  });
  expect(f.completed + f.otherEnd).toBe(load.flows.length);
});

const succeeded = async () => (await sql<{ n: number }[]>`select count(*)::int as n from baton.task_logs where event = 'succeeded'`)[0].n;
