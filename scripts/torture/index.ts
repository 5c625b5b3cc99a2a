/**
 * `npm run torture [-- options]`: a steady mixed load against two real baton instances on one
 * Postgres of its own, a baseline, then each fault in turn with a recovery period after it, then
 * a soak. Prints as it goes (a status line every 5 s) and writes the tables into
 * docs/reliability.md. See docs/reliability.md for what each figure means.
 *
 * Options (--name=value):
 *   --scale=small|full     small: 60 s faults, 5 min soak; full: 5 min faults, 30 min soak (default full)
 *   --only=a,b             phases to run: idle-in-transaction, terminate, restart, pool, kill, overload, soak
 *   --phase-seconds=N      length of the long faults (held snapshot, overload, connection hog)
 *   --recovery-seconds=N   recovery period after each fault (default 60; the stuck check runs at its end)
 *   --baseline-seconds=N   baseline window (default 30 small, 60 full)
 *   --soak-minutes=N       soak length
 *   --heap-snapshots       a heap snapshot of each instance as the soak's measured part begins and
 *                          at its end, and what grew between them; the memory a snapshot takes stays
 *                          in the RSS, so RSS is then shown but not judged
 *   --rate=N               steady load in tasks/s (default 20); the running workflow is one every
 *                          2 s at 20 tasks/s, scaled with it (a workflow a second at 40)
 *   --out=FILE             report file (default docs/reliability.md); --no-write prints only
 *   --note=TEXT            a line about the machine for the report (e.g. that it was shared)
 *   --revision=REV         the baton commit under test, when the tree has no .git
 */
import { execFileSync } from "node:child_process";
import { cpus, loadavg, totalmem } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { say, startProgress } from "../bench/progress.js";
import { analysePhase, meanRate, type PhaseResult, type Schedule, type SoakSample, spread, type Window } from "./analyse.js";
import { Cluster, type Crash, INSTANCE_ENV, instanceMemory, rssBytes } from "./cluster.js";
import { liveHeap, summariseHeap, takeHeapSnapshot } from "./heap.js";
import { HARNESS_APP, harnessSql, type Sql } from "./faults.js";
import { Load, mixTask } from "./load.js";
import { batonConnections, createToStart, finishedPerSecond, lost, openCounts, openIds, rowCounts, tableStats, verdict } from "./measure.js";
import { PHASES, type Phase, type PhaseContext } from "./phases.js";
import { PREAMBLE, renderRun, type SoakHeap, summariseSoak, writeReport } from "./report.js";
import { flowFigures, readFlowTasks, stuckChildren } from "./workflows.js";

interface Options {
  scale: "small" | "full";
  only: string[] | null;
  longSeconds: number;
  poolSeconds: number;
  recoverySeconds: number;
  baselineSeconds: number;
  soakMinutes: number;
  /** heap snapshots at the start of the soak's measured part and at its end (RSS then not judged) */
  heapSnapshots: boolean;
  rate: number;
  out: string | null;
  note: string;
  revision: string;
  args: string;
}

function parseOptions(argv: string[]): Options {
  const kv = new Map(argv.filter((a) => a.startsWith("--")).map((a) => [a.slice(2).split("=")[0], a.includes("=") ? a.slice(a.indexOf("=") + 1) : "true"]));
  const scale = kv.get("scale") === "small" ? "small" : "full";
  const num = (k: string, d: number) => (kv.has(k) ? Number(kv.get(k)) : d);
  const long = num("phase-seconds", scale === "small" ? 60 : 300);
  return {
    scale,
    only: kv.get("only")?.split(",") ?? null,
    longSeconds: long,
    poolSeconds: num("phase-seconds", 60),
    recoverySeconds: num("recovery-seconds", 60),
    baselineSeconds: num("baseline-seconds", scale === "small" ? 30 : 60),
    soakMinutes: num("soak-minutes", scale === "small" ? 5 : 30),
    heapSnapshots: kv.has("heap-snapshots"),
    rate: num("rate", 20),
    out: kv.has("no-write") ? null : (kv.get("out") ?? "docs/reliability.md"),
    note: kv.get("note") ?? "",
    revision: kv.get("revision") ?? gitRevision(),
    args: argv.join(" "),
  };
}

const STATUS_EVERY_MS = 3000;
const STUCK_SPAN_AFTER_MS = 10_000;
/** Answers slower than this are listed one by one at the end (for the post-mortem in the logs). */
const SLOW_MS = 2000;
/** Open tasks at the steady load (a few seconds of it), and how long the soak waits for that. */
const BACKLOG_STEADY = 100;
const BACKLOG_WAIT_MS = 600_000;
/** Workflows per second per task per second of --rate: one every 2 s at the default 20. */
const WORKFLOWS_PER_TASK = 1 / 40;
/** How often the run looks for a workflow child left waiting by parents that are all terminal. */
const STUCK_FLOW_EVERY_MS = 2000;

/** The commit under test (a copy without .git names it with --revision=). */
function gitRevision(): string {
  try {
    return execFileSync("git", ["describe", "--always", "--dirty"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "unknown";
  }
}

const wanted = (o: Options, name: string) => o.only === null || o.only.includes(name);

/** Every-second noop schedule; catch-up "all" so an outage's due times are fired late, not lost. */
async function createSchedule(url: string): Promise<Schedule> {
  const anchorMs = Math.ceil(Date.now() / 1000) * 1000 + 2000;
  const res = await fetch(`${url}/api/schedules`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      name: "torture-every-second",
      type: "noop",
      trigger: { kind: "interval", seconds: 1, startAt: new Date(anchorMs).toISOString() },
      catchUp: "all",
      overlap: "allow",
    }),
  });
  if (res.status !== 201) throw new Error(`creating the schedule: ${res.status} ${await res.text()}`);
  return { id: ((await res.json()) as { id: number }).id, anchorMs, everyMs: 1000 };
}

/** Completions per second of a burst of the mix with nothing else running: the drain rate. */
async function measureDrain(sql: Sql, url: string, n: number): Promise<number> {
  const ids: number[] = [];
  for (let i = 0; i < n; i += 500) {
    const tasks = Array.from({ length: Math.min(500, n - i) }, (_, k) => mixTask(i + k));
    const res = await fetch(`${url}/api/tasks/batch`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ tasks }) });
    if (!res.ok) throw new Error(`drain batch: ${res.status} ${await res.text()}`);
    ids.push(...((await res.json()) as { ids: number[] }).ids);
  }
  const marks: [number, number][] = [];
  for (let done = 0; done < 0.8 * n; ) {
    await sleep(250);
    [{ done }] = await sql<{ done: number }[]>`
      select count(*)::int as done from baton.tasks where id = any(${ids}::bigint[]) and status in ('completed', 'failed')`;
    marks.push([Date.now(), done]);
  }
  // the middle of the drain: neither the claim of the first batch nor the retries' tail
  const a = marks.find(([, d]) => d >= 0.1 * n) ?? marks[0];
  const b = marks.at(-1) ?? a;
  return (b[1] - a[1]) / Math.max(0.25, (b[0] - a[0]) / 1000);
}

/**
 * A status line every 3 s while the run goes (the progress heartbeat of scripts/bench repeats the
 * last line after 3.5 s of silence, so a 5 s period would print every line twice); database reads are bounded so an outage cannot stall it. */
function statusLines(sql: Sql, load: Load, cluster: Cluster, phase: () => string): () => void {
  let answersSeen = 0;
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    const fresh = load.answers.slice(answersSeen);
    answersSeen = load.answers.length;
    const bad = fresh.filter((a) => a.status !== 201 && a.status !== 200).length;
    const slow = Math.max(0, ...fresh.map((a) => a.ms));
    const db = await Promise.race([
      (async () => {
        const open = await openCounts(sql);
        const [{ n }] = await sql<{ n: number }[]>`select count(*)::int as n from baton.tasks where finished_at > now() - interval '5 seconds'`;
        return `open ${JSON.stringify(open)} · done ${(n / 5).toFixed(0)}/s`;
      })(),
      sleep(2000).then(() => "database: no answer within 2 s"),
    ]).catch((e: Error) => `database: ${e.message}`);
    say(`${phase()} · instances up ${cluster.live().length} · load ${load.currentRate}/s · acked ${load.acks.length} · workflows ${load.flows.length} · answers ${fresh.length} (non-2xx ${bad}, slowest ${slow.toFixed(0)} ms) · in flight ${load.inFlightCount} · ${db}`);
    busy = false;
  }, STATUS_EVERY_MS);
  return () => clearInterval(timer);
}

/**
 * Every 2 s: the workflow children waiting although every parent is terminal (a defect in any
 * snapshot: the transaction that settles the last parent releases or cancels them). The ids seen
 * go into `seen`; a read that fails or takes over 2 s (an outage) is skipped.
 */
function watchStuckChildren(sql: Sql, seen: Set<number>): () => void {
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    const ids = await Promise.race([stuckChildren(sql), sleep(STUCK_FLOW_EVERY_MS).then(() => [] as number[])]).catch(() => [] as number[]);
    for (const id of ids) {
      if (!seen.has(id)) say(`workflow child ${id} waiting although every parent is terminal`);
      seen.add(id);
    }
    busy = false;
  }, STUCK_FLOW_EVERY_MS);
  return () => clearInterval(timer);
}

/** The task ids of the load's workflows. */
const flowIds = (load: Load): number[] => load.flows.flatMap((f) => f.ids).filter(Number.isFinite);

/** What the status line names as going on. */
const now = { doing: "starting" };

/** Applies one phase's fault, waits out its recovery period, checks for stuck tasks. */
async function runPhase(phase: Phase, ctx: PhaseContext, recoverySeconds: number): Promise<Window> {
  const { sql, load } = ctx;
  now.doing = phase.name;
  say(`phase ${phase.name}: ${phase.fault}`);
  const start = Date.now();
  const statsStart = await tableStats(sql);
  const inFlight = await openIds(sql);
  const { events, notes, killed } = await phase.apply(ctx);
  const faultEnd = Date.now();
  const statsFaultEnd = await tableStats(sql);
  now.doing = `${phase.name} recovery`;
  await sleep(recoverySeconds * 1000);
  const end = Date.now();
  // stuck: in flight when the fault began, or acknowledged from then until 10 s into the
  // recovery (the aftermath, when a fault's effects are still settling), and not terminal now
  const acked = load.acks.filter((a) => a.t >= start && a.t < faultEnd + STUCK_SPAN_AFTER_MS).map((a) => a.id);
  const stuck = lost(await verdict(sql, [...new Set([...inFlight, ...acked])])).length;
  for (const c of ctx.cluster.crashes.filter((x) => x.at >= start)) say(`CRASH: ${c.id} exited with ${c.code} at ${new Date(c.at).toISOString()}: ${c.last}`);
  say(`phase ${phase.name} done: ${acked.length} acknowledged during the fault and 10 s after, ${inFlight.length} in flight when it began, ${stuck} of them not terminal ${recoverySeconds} s later`);
  return {
    name: phase.name,
    fault: phase.fault,
    start,
    faultEnd,
    end,
    events,
    notes,
    recoveryTargetS: phase.recoveryTargetS,
    inFlight,
    killed,
    crashes: ctx.cluster.crashes.filter((c) => c.at >= start && c.at < end),
    stats: { start: statsStart, faultEnd: statsFaultEnd, end: await tableStats(sql) },
    stuck,
    stuckAfterS: Math.round((end - faultEnd) / 1000),
  };
}

/** How often the soak reads each instance's live heap (a forced full collection each time). */
const LIVE_HEAP_EVERY_MS = 60_000;

/**
 * The steady load for `minutes`, sampling memory, connections and row counts every 10 s, and each
 * instance's live heap (after full collections, through its inspector) once a minute. With
 * `snapshots`, a heap snapshot of each instance as the measured part begins (after the first
 * fifth, which the fits leave out) and at the end.
 */
async function soak(cluster: Cluster, sql: Sql, load: Load, minutes: number, snapshots: boolean): Promise<{ samples: SoakSample[]; heaps: SoakHeap[] }> {
  now.doing = "soak";
  const samples: SoakSample[] = [];
  const soakStart = Date.now();
  const soakEnd = soakStart + minutes * 60_000;
  const measuredFrom = soakStart + (minutes * 60_000) / 5;
  const heaps = new Map<string, SoakHeap>();
  const snapshotAll = async (which: "start" | "end") => {
    for (const inst of cluster.running()) {
      if (inst.proc.pid === undefined) continue;
      now.doing = `soak: heap snapshot of ${inst.id}`;
      const taken = Date.now();
      try {
        const h = summariseHeap(await takeHeapSnapshot(inst.proc.pid));
        say(`heap snapshot of ${inst.id} (pid ${inst.proc.pid}): ${(h.liveBytes / 2 ** 20).toFixed(1)} MB live in ${h.nodes} nodes, ${((Date.now() - taken) / 1000).toFixed(1)} s`);
        const cur = heaps.get(inst.id);
        if (which === "start") heaps.set(inst.id, { id: inst.id, pid: inst.proc.pid, start: h, startT: taken, end: null, endT: 0 });
        else if (cur && cur.pid === inst.proc.pid) Object.assign(cur, { end: h, endT: taken });
        else say(`${inst.id} was restarted after its first heap snapshot: its heap is not compared`);
      } catch (e) {
        say(`heap snapshot of ${inst.id}: ${(e as Error).message}`);
      }
    }
    now.doing = "soak";
  };
  let snapshotTaken = false;
  let liveReadAt = 0;
  while (Date.now() < soakEnd) {
    if (snapshots && !snapshotTaken && Date.now() >= measuredFrom) {
      snapshotTaken = true;
      await snapshotAll("start");
    }
    const inst = cluster.running();
    const readLive = Date.now() - liveReadAt >= LIVE_HEAP_EVERY_MS;
    if (readLive) liveReadAt = Date.now();
    const live = await Promise.all(
      inst.map(async (i) => {
        const port = cluster.inspectPort(i.id);
        const none = { bytes: Number.NaN, youngCommitted: Number.NaN, ms: Number.NaN };
        if (!readLive || port === undefined) return none;
        const t = performance.now();
        return liveHeap(port).then(
          (h) => ({ ...h, ms: performance.now() - t }),
          (e: Error) => {
            say(`live heap of ${i.id}: ${e.message}`);
            return none;
          },
        );
      }),
    );
    const memory = await Promise.all(inst.map((i) => instanceMemory(i.url)));
    samples.push({
      t: Date.now(),
      rss: inst.map((i) => rssBytes(i.proc.pid)),
      heap: memory.map((m) => m.heapUsed),
      live: live.map((h) => h.bytes),
      liveMs: live.map((h) => h.ms),
      young: live.map((h) => h.youngCommitted),
      heapTotal: memory.map((m) => m.heapTotal),
      external: memory.map((m) => m.external),
      connections: await batonConnections(sql, cluster.database, HARNESS_APP),
      rows: await rowCounts(sql),
      // the workflows' tasks are rows too (the tasks-rows target compares growth with this)
      created: load.acks.length + load.flowTasks,
    });
    await sleep(Math.min(10_000, Math.max(0, soakEnd - Date.now())));
  }
  if (snapshotTaken) await snapshotAll("end");
  return { samples, heaps: [...heaps.values()] };
}

interface Recorded {
  t0: number;
  startLoad: number;
  baseline: { start: number; end: number };
  drainRate: number;
  schedule: Schedule;
  windows: Window[];
  samples: SoakSample[];
  /** with --heap-snapshots, each instance's snapshots at the start of the soak's measured part and at its end */
  heaps: SoakHeap[];
  /** the soak's start and end (epoch ms), when it ran */
  soak: { start: number; end: number } | null;
  /** workflow children seen waiting with every parent terminal */
  stuckSeen: Set<number>;
  crashes: Crash[];
}

/** Reads every figure from the drained database, prints the tables and writes the report. */
async function report(o: Options, sql: Sql, load: Load, r: Recorded): Promise<void> {
  now.doing = "report";
  const series = await finishedPerSecond(sql, r.t0, Date.now());
  const { start: bStart, end: bEnd } = r.baseline;
  const baseline = meanRate(series, bStart, bEnd);
  // the workflows' rows once, after the drain; a last look for stuck children with them
  const flows = { flows: load.flows, tasks: await readFlowTasks(sql, flowIds(load)), stuckSeen: r.stuckSeen };
  for (const id of await stuckChildren(sql)) r.stuckSeen.add(id);
  const results: PhaseResult[] = [];
  for (const w of r.windows) results.push(await analysePhase(sql, w, { answers: load.answers, acks: load.acks, series, baseline, schedule: r.schedule, flows }));
  const soakFlows = r.soak ? flowFigures(flows.flows, flows.tasks, flows.stuckSeen, r.soak.start, r.soak.end) : undefined;
  const [{ version }] = await sql<{ version: string }[]>`select version()`;
  const [{ maxConn }] = await sql<{ maxConn: number }[]>`select current_setting('max_connections')::int as "maxConn"`;
  const generated = renderRun(
    {
      startedAt: new Date(r.t0),
      durationS: (Date.now() - r.t0) / 1000,
      scale: o.scale,
      args: o.args,
      revision: o.revision,
      machine: `${cpus().length} cores (${cpus()[0]?.model ?? "?"}), ${(totalmem() / 2 ** 30).toFixed(0)} GB, load average ${r.startLoad.toFixed(1)} at the start and ${loadavg()[0].toFixed(1)} at the end${o.note ? `. ${o.note}` : ""}`,
      postgres: `${version.split(" on ")[0]}, embedded, own data directory, max_connections ${maxConn}`,
      instances: `2 (tsx src/main.ts), ${Object.entries(INSTANCE_ENV).map(([k, v]) => `${k}=${v}`).join(", ")}, other settings default; the inspector on 127.0.0.1 (the soak's live-heap readings)${o.heapSnapshots ? " and heap snapshots on SIGUSR2" : ""}`,
      rate: o.rate,
      workflowRate: o.rate * WORKFLOWS_PER_TASK,
      drainRate: r.drainRate,
      baseline: {
        throughput: baseline,
        seconds: Math.round((bEnd - bStart) / 1000),
        startLatency: spread(await createToStart(sql, bStart, bEnd)),
        http: spread(load.answers.filter((a) => a.t >= bStart && a.t < bEnd).map((a) => a.ms)),
        flows: flowFigures(flows.flows, flows.tasks, flows.stuckSeen, bStart, bEnd),
      },
    },
    results,
    r.samples.length > 4 ? summariseSoak(r.samples, o.soakMinutes, o.rate, r.crashes.filter((c) => c.at >= r.samples[0].t).length, soakFlows, r.heaps) : null,
  );
  process.stdout.write(`\n${generated}\n\n`);
  for (const a of load.answers.filter((x) => x.ms > SLOW_MS)) {
    say(`slow answer: ${new Date(a.t).toISOString()} ${a.base} ${a.status} ${a.ms.toFixed(0)} ms ${a.kind ?? ""}${a.workflow ? " (a workflow)" : ""}`);
  }
  if (o.out) {
    writeReport(o.out, generated, PREAMBLE);
    say(`wrote ${o.out}`);
  }
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const t0 = Date.now();
  startProgress(t0);
  const startLoad = loadavg()[0];
  say(`torture, scale ${o.scale}: faults ${o.longSeconds} s, pool ${o.poolSeconds} s, recovery ${o.recoverySeconds} s, soak ${o.soakMinutes} min, ${o.rate} tasks/s`);
  const cluster = await Cluster.start(".data/torture-pg", ["torture-a", "torture-b"], say);
  const sql = harnessSql(cluster.url, { max: 3, name: "monitor" });
  const load = new Load(() => cluster.live());
  const stopLines = statusLines(sql, load, cluster, () => now.doing);
  const stuckSeen = new Set<number>();
  const stopWatch = watchStuckChildren(sql, stuckSeen);
  try {
    const schedule = await createSchedule(cluster.live()[0]);
    now.doing = "drain rate";
    const drainRate = await measureDrain(sql, cluster.live()[0], o.scale === "small" ? 1500 : 3000);
    say(`drain rate: ${drainRate.toFixed(0)} tasks/s`);

    now.doing = "warm-up";
    load.setWorkflowRate(o.rate * WORKFLOWS_PER_TASK);
    load.start(o.rate);
    await sleep(10_000);
    now.doing = "baseline";
    const baseline = { start: Date.now(), end: 0 };
    await sleep(o.baselineSeconds * 1000);
    baseline.end = Date.now();

    const ctx: PhaseContext = { cluster, load, sql, longSeconds: o.longSeconds, poolSeconds: o.poolSeconds, normalRate: o.rate, drainRate, say };
    const windows: Window[] = [];
    for (const phase of PHASES.filter((p) => wanted(o, p.name))) windows.push(await runPhase(phase, ctx, o.recoverySeconds));
    let samples: SoakSample[] = [];
    let heaps: SoakHeap[] = [];
    let soakWindow: Recorded["soak"] = null;
    if (wanted(o, "soak")) {
      // the soak is the steady state: an overload's backlog drains first
      now.doing = "draining the backlog before the soak";
      const t = Date.now();
      while (Object.values(await openCounts(sql)).reduce((a, b) => a + b, 0) > BACKLOG_STEADY && Date.now() - t < BACKLOG_WAIT_MS) await sleep(1000);
      say(`backlog at its steady level after ${((Date.now() - t) / 1000).toFixed(0)} s; soak starts`);
      soakWindow = { start: Date.now(), end: 0 };
      ({ samples, heaps } = await soak(cluster, sql, load, o.soakMinutes, o.heapSnapshots));
      soakWindow.end = Date.now();
    }

    now.doing = "draining";
    await load.stop();
    // the workflows' tasks drain too (their figures are read from the drained rows)
    const ids = [...load.acks.map((a) => a.id), ...flowIds(load)];
    const drainDeadline = Date.now() + 180_000;
    while (lost(await verdict(sql, ids)).length > 0 && Date.now() < drainDeadline) await sleep(1000);
    await report(o, sql, load, { t0, startLoad, baseline, drainRate, schedule, windows, samples, heaps, soak: soakWindow, stuckSeen, crashes: cluster.crashes });
  } finally {
    stopLines();
    stopWatch();
    await load.stop();
    await sql.end({ timeout: 5 }).catch(() => {});
    const codes = await cluster.stop();
    say(`instances stopped (exit codes ${codes.join(", ")}), Postgres stopped; ${((Date.now() - t0) / 60_000).toFixed(1)} minutes`);
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
