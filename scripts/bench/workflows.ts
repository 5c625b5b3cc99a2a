/**
 * (h) Workflows, baton only: what task dependencies (migrations/0013_workflows.sql) cost a run.
 * Three shapes of no-op tasks, each against the same number of independent no-op tasks run in
 * the same round (the order of the two alternates each round):
 *   fan-out/fan-in: 1 → `workflowFanout` → 1. A task has at most MAX_PARENTS (1,000) parents, so a
 *                   wider fan-in goes through a layer of joins of 1,000 each (1 → 10,000 → 10 → 1);
 *   chain:          `workflowChain` tasks, each waiting for the one before;
 *   diamonds:       `workflowDiamonds` independent 1 → `workflowDiamondWidth` → 1 diamonds.
 * Every task is created over HTTP, POST /api/tasks/batch with refs, at most 10,000 tasks per
 * request; a parent created by an earlier request is named by its id. The roots (and every
 * baseline task) are created held (backlog), so nothing starts while the graph is still being
 * created, and are then released by one bulk status report (POST /api/tasks/status, up to 10,000
 * ids per call). One baton instance runs them, at the bench's concurrency, as shipped otherwise.
 *
 * Time is read from task_logs, not from polling: from the first start (min started_at of the
 * succeeded rows) to the last finish (max created_at of the succeeded rows, the finishing
 * transaction's now()). The overhead per edge is (shape − baseline) / edges of the same round, the
 * median over the rounds. Postgres CPU and WAL are metered twice per run: the HTTP creates, and
 * from the release until nothing is left (cpu.ts), each divided by the tasks.
 * After every run the bookkeeping is checked: every task completed once, in one attempt, with one
 * succeeded row; one note row per released task (the status report writes it) and no other row;
 * every edge stored; no task started before each of its parents had finished; no job left.
 */
import { MAX_PARENTS } from "../../src/api/tasks/tasks.schemas.js";
import type { Bench } from "./context.js";
import { perTask, startMeter, type TaskCost, type Usage } from "./cpu.js";
import { call } from "./http.js";
import type { Child } from "./proc.js";
import { stopAll } from "./proc.js";
import { costLine } from "./processing.js";
import { doing } from "./progress.js";
import { measure, medianCost, noteConfig, noteMemory, type WorkflowResult } from "./results.js";
import { epochMs, fmt, median, until } from "./stats.js";
import { allConfigs, type Baton } from "./systems.js";

/** Tasks per POST /api/tasks/batch, and ids per POST /api/tasks/status (BatchBody, StatusBody). */
const MAX_BATCH = 10_000;

/** A DAG in topological order: every task's parents come before it. */
export interface Graph {
  /** Key in the results, e.g. "chain". */
  name: string;
  /** The shape as written in the report, e.g. "1 → 10,000 → 10 → 1". */
  shape: string;
  /** parents[i]: the positions of task i's parents, all < i. */
  parents: number[][];
  /**
   * Sizes of consecutive pieces a request should not split (one diamond each), in order. A piece
   * larger than a request is split where it must; its later part then names the earlier part's
   * tasks by id, which the API accepts.
   */
  units: number[];
  note?: string;
}

export const edgeCount = (g: Graph) => g.parents.reduce((a, p) => a + p.length, 0);

/**
 * Appends a 1 → width → 1 fan to `parents` (the root at its first position) and returns the new
 * positions' count. A fan-in wider than MAX_PARENTS goes through ceil(width / MAX_PARENTS) joins.
 */
function addFan(parents: number[][], width: number): number {
  const root = parents.length;
  parents.push([]);
  const mids = Array.from({ length: width }, (_, k) => root + 1 + k);
  for (let k = 0; k < width; k++) parents.push([root]);
  let last = mids;
  if (width > MAX_PARENTS) {
    const joins: number[] = [];
    for (let s = 0; s < width; s += MAX_PARENTS) {
      joins.push(parents.length);
      parents.push(mids.slice(s, s + MAX_PARENTS));
    }
    last = joins;
  }
  parents.push(last);
  return parents.length - root;
}

const fanShape = (width: number) => (width > MAX_PARENTS ? `1 → ${fmt(width)} → ${fmt(Math.ceil(width / MAX_PARENTS))} → 1` : `1 → ${fmt(width)} → 1`);
const joinNote = (width: number) =>
  `a task has at most ${fmt(MAX_PARENTS)} parents, so the ${fmt(width)} fan in through ${fmt(Math.ceil(width / MAX_PARENTS))} joins of up to ${fmt(MAX_PARENTS)} each`;

export function fanOutIn(width: number): Graph {
  const parents: number[][] = [];
  const size = addFan(parents, width);
  return { name: "fan-out/fan-in", shape: fanShape(width), parents, units: [size], note: width > MAX_PARENTS ? joinNote(width) : undefined };
}

export function chain(length: number): Graph {
  const parents = Array.from({ length }, (_, i) => (i === 0 ? [] : [i - 1]));
  return { name: "chain", shape: `chain of ${fmt(length)}`, parents, units: [length] };
}

export function diamonds(count: number, width: number): Graph {
  const parents: number[][] = [];
  const units = Array.from({ length: count }, () => addFan(parents, width));
  return {
    name: "diamonds",
    shape: `${fmt(count)} diamonds, each ${fanShape(width)}`,
    parents,
    units,
    note: width > MAX_PARENTS ? joinNote(width) : undefined,
  };
}

/** The requests of a graph: [start, end) position ranges of at most `max` tasks, whole units where they fit. */
export function splitRequests(units: number[], max: number): [number, number][] {
  const out: [number, number][] = [];
  let start = 0;
  let end = 0;
  for (const size of units) {
    if (end - start + size > max && end > start && size <= max) {
      out.push([start, end]);
      start = end;
    }
    end += size;
    while (end - start > max) {
      out.push([start, start + max]);
      start += max;
    }
  }
  if (end > start) out.push([start, end]);
  return out;
}

interface Created {
  /** Ids of the tasks released to start the run: the roots, or every baseline task. */
  roots: number[];
  requests: number;
}

/**
 * Creates the graph over HTTP: refs for parents of the same request, ids for parents of an
 * earlier one; the roots held. With `independent`, the same number of tasks in the same
 * requests, all held and without edges (the baseline).
 */
async function create(url: string, g: Graph, independent: boolean): Promise<Created> {
  const n = g.parents.length;
  const ranges = splitRequests(g.units, MAX_BATCH);
  const reqOf = new Int32Array(n);
  for (const [k, [a, b]] of ranges.entries()) reqOf.fill(k, a, b);
  const ref = new Uint8Array(n); // 1: a task of the same request names it by ref
  if (!independent) {
    for (const [i, ps] of g.parents.entries()) for (const p of ps) if (reqOf[p] === reqOf[i]) ref[p] = 1;
  }
  const ids = new Array<number>(n);
  for (const [k, [a, b]] of ranges.entries()) {
    const tasks: Record<string, unknown>[] = [];
    for (let i = a; i < b; i++) {
      const ps = independent ? [] : g.parents[i];
      const t: Record<string, unknown> = { type: "noop" };
      if (ref[i]) t.ref = `n${i}`;
      if (ps.length) t.dependsOn = ps.map((p) => (reqOf[p] === k ? `n${p}` : ids[p]));
      else t.hold = true;
      tasks.push(t);
    }
    const res = await call<{ created: number; ids: number[] }>(`${url}/api/tasks/batch`, "POST", { tasks }, [200]);
    if (res.created !== b - a || res.ids.length !== b - a) throw new Error(`batch ${k + 1}: ${res.created} of ${b - a} created`);
    res.ids.forEach((id, j) => {
      ids[a + j] = id;
    });
  }
  const roots = independent ? ids : ids.filter((_, i) => g.parents[i].length === 0);
  return { roots, requests: ranges.length };
}

async function release(url: string, ids: number[]): Promise<void> {
  for (let s = 0; s < ids.length; s += MAX_BATCH) {
    const part = ids.slice(s, s + MAX_BATCH);
    const res = await call<{ updated: number }>(`${url}/api/tasks/status`, "POST", { pending: part }, [200]);
    if (res.updated !== part.length) throw new Error(`release: ${res.updated} of ${part.length} updated`);
  }
}

/** The bookkeeping of one run (see the header); throws with the counts when any is off. */
async function check(sys: Baton, label: string, n: number, edges: number, released: number): Promise<string> {
  const [c] = await sys.admin`
    select (select count(*) from baton.tasks)::int as tasks,
           (select count(*) from baton.tasks where status = 'completed' and attempts = 1)::int as completed,
           (select count(*) from baton.task_logs where event = 'succeeded' and attempt = 1 and instance_id is not null
              and started_at is not null and duration_ms is not null)::int as succeeded,
           (select count(distinct task_id) from baton.task_logs where event = 'succeeded')::int as succeeded_tasks,
           (select count(*) from baton.task_logs where event = 'note')::int as notes,
           (select count(*) from baton.task_logs)::int as logs,
           (select count(*) from baton.task_dependencies)::int as edges,
           (select count(*) from baton.task_dependencies d
              join baton.task_logs c on c.task_id = d.task_id and c.event = 'succeeded'
              join baton.task_logs p on p.task_id = d.depends_on and p.event = 'succeeded'
             where c.started_at < p.created_at)::int as early,
           (select count(*) from graphile_worker._private_jobs)::int as jobs`;
  const ok =
    c.tasks === n && c.completed === n && c.succeeded === n && c.succeeded_tasks === n && c.notes === released &&
    c.logs === n + released && c.edges === edges && c.early === 0 && c.jobs === 0;
  const line =
    `${label}: ${fmt(n)} tasks: ${fmt(c.completed)} completed in one attempt, ${fmt(c.succeeded)} complete succeeded rows (${fmt(c.succeeded_tasks)} tasks), ` +
    `${fmt(c.logs)} log rows (${fmt(c.notes)} release notes for ${fmt(released)} released), ${fmt(c.edges)} of ${fmt(edges)} edges, ` +
    `${c.early} started before a parent finished, ${c.jobs} jobs left`;
  if (!ok) throw new Error(`workflow bookkeeping check failed: ${line}`);
  return line;
}

interface Run {
  /** First start → last finish, from task_logs. */
  seconds: number;
  /** Release call → nothing left, as the poller saw it. */
  wallSeconds: number;
  createSeconds: number;
  create: Usage;
  run: Usage;
  requests: number;
  check: string;
}

/** One run of a graph (or its baseline) on an empty database, with the instance idle and warm. */
async function runOnce(sys: Baton, url: string, g: Graph, independent: boolean, meter: () => Promise<() => Promise<Usage>>, label: string): Promise<Run> {
  const n = g.parents.length;
  await sys.reset();
  await sys.admin`checkpoint`.catch(() => {}); // every run starts from the same WAL state, as in (b)
  const readCreate = await meter();
  const c0 = epochMs();
  const created = await create(url, g, independent);
  const createSeconds = (epochMs() - c0) / 1000;
  const createUsage = await readCreate();
  const readRun = await meter();
  const t0 = epochMs();
  await release(url, created.roots);
  // every 50 ms, not (b)'s 10: the time comes from task_logs, and the poll's own statements are
  // metered with the run (a chain of 1,000 runs for seconds with little else to do)
  await until(async () => !(await sys.busy()), `${label} to finish`, 30 * 60_000, 50);
  const wallSeconds = (epochMs() - t0) / 1000;
  const runUsage = await readRun();
  const [span] = await sys.admin`
    select extract(epoch from max(created_at) - min(started_at))::float8 as s
    from baton.task_logs where event = 'succeeded'`;
  const line = await check(sys, label, n, independent ? 0 : edgeCount(g), created.roots.length);
  return { seconds: Number(span.s), wallSeconds, createSeconds, create: createUsage, run: runUsage, requests: created.requests, check: line };
}

export function workflowGraphs(o: Bench["o"]): Graph[] {
  return [fanOutIn(o.workflowFanout), chain(o.workflowChain), diamonds(o.workflowDiamonds, o.workflowDiamondWidth)];
}

export async function workflowsStage({ o, r, named, logDir, say, server, save }: Bench) {
  const cfg = allConfigs(o).find((c) => c.label === "baton");
  if (!cfg) throw new Error("no baton configuration");
  const sys = named.baton;
  const graphs = workflowGraphs(o);
  say(`  ${cfg.label}, 1 instance, concurrency ${o.concurrency}: warm-up, then ${o.reps} rounds of each shape against as many independent tasks`);
  for (const g of graphs) say(`    ${g.name}: ${g.shape} (${fmt(g.parents.length)} tasks, ${fmt(edgeCount(g))} edges, ${splitRequests(g.units, MAX_BATCH).length} request(s))`);
  await sys.reset();
  let children: Child[] = [];
  try {
    children = await sys.startWorkers(cfg, 1, logDir);
    noteConfig(r, cfg, children);
    const url = String(children[0].ready.url);
    const pids = children.map((c) => c.proc.pid ?? 0);
    const meter = () => startMeter(server, pids);
    doing("workflows: warm-up (a small fan-out/fan-in and its baseline)");
    const warm = fanOutIn(Math.min(500, o.workflowFanout));
    await runOnce(sys, url, warm, false, meter, "warm-up");
    await runOnce(sys, url, warm, true, meter, "warm-up baseline");
    for (const g of graphs) {
      const n = g.parents.length;
      const edges = edgeCount(g);
      const shape: Run[] = [];
      const base: Run[] = [];
      for (let i = 0; i < o.reps; i++) {
        // alternate which of the two runs first, so neither always meets a freshly checkpointed server second
        for (const independent of i % 2 === 0 ? [false, true] : [true, false]) {
          const what = independent ? `baseline (${fmt(n)} independent tasks)` : g.shape;
          doing(`workflows, ${g.name}, round ${i + 1} of ${o.reps}: ${what}`);
          try {
            const run = await runOnce(sys, url, g, independent, meter, `${g.name}${independent ? " baseline" : ""}, round ${i + 1}`);
            (independent ? base : shape).push(run);
            r.checks.push(run.check);
          } catch (err) {
            // a failed run is reported; the other shapes are still measured
            r.errors.push(`(h) workflows, ${g.name}${independent ? " baseline" : ""}, round ${i + 1}: ${(err as Error).message}`);
          }
        }
      }
      if (!shape.length || !base.length) continue;
      const pairs = Math.min(shape.length, base.length);
      const overheadReps = Array.from({ length: pairs }, (_, i) => ((shape[i].seconds - base[i].seconds) * 1e6) / Math.max(1, edges));
      const seconds = measure(shape.map((x) => x.seconds), "s");
      const baselineSeconds = measure(base.map((x) => x.seconds), "s");
      const cost = (xs: Run[], k: "create" | "run"): TaskCost => medianCost(xs.map((x) => perTask(x[k], n)));
      const res: WorkflowResult = {
        shape: g.shape,
        tasks: n,
        edges,
        requests: shape[0].requests,
        note: g.note,
        seconds,
        baselineSeconds,
        rate: n / seconds.median,
        baselineRate: n / baselineSeconds.median,
        overheadUsPerEdge: median(overheadReps),
        overheadReps,
        wallSeconds: shape.map((x) => x.wallSeconds),
        baselineWallSeconds: base.map((x) => x.wallSeconds),
        createSeconds: measure(shape.map((x) => x.createSeconds), "s"),
        baselineCreateSeconds: measure(base.map((x) => x.createSeconds), "s"),
        cost: cost(shape, "run"),
        baselineCost: cost(base, "run"),
        createCost: cost(shape, "create"),
        baselineCreateCost: cost(base, "create"),
      };
      r.workflows[g.name] = res;
      say(
        `    ${g.name} (${g.shape}): ${seconds.samples.map((x) => x.toFixed(2)).join(", ")} s (${fmt(res.rate)} tasks/s) against ` +
          `${baselineSeconds.samples.map((x) => x.toFixed(2)).join(", ")} s (${fmt(res.baselineRate)} tasks/s); ${fmt(res.overheadUsPerEdge)} µs per edge`,
      );
      say(`      run ${costLine(res.cost)}; baseline ${costLine(res.baselineCost)}`);
      save();
    }
  } finally {
    noteMemory(r, cfg.label, await stopAll(children));
    await sys.reset();
    save();
  }
}
