/**
 * (f) Continuous load: at least `continuousQueued` tasks are queued for the whole window (a
 * top-up loop counts what is left and adds more, in transactions of 10,000, whenever the
 * backlog falls towards the target), while `continuousInstances` workers process them. The
 * throughput is printed every `tickSeconds`. Once a second (`probeRate`) a probe task is created
 * at priority 9 (or the system's equivalent, System.priorityNote) and its handler reports when it
 * starts: p50 / p99 of create → start show whether priority overtakes a backlog that never drains.
 * The cost per task (Postgres CPU, WAL, worker CPU) covers the window, top-up inserts included:
 * a task's whole life, created and processed (plus the bench's own backlog counts, about four a
 * second, the same for every system).
 */
import type { Bench } from "./context.js";
import { perTask, startMeter } from "./cpu.js";
import { type Child, stopAll } from "./proc.js";
import { costLine } from "./processing.js";
import { doing } from "./progress.js";
import { type ContinuousResult, noteConfig, noteMemory, type ProbeResult } from "./results.js";
import { epochMs, fmt, maxOf, percentile, sleep } from "./stats.js";
import type { System, WorkerConfig } from "./systems.js";

const CHUNK = 10_000;
/** How long probes still queued at the end of the window may take before they count as never started. */
const PROBE_GRACE_MS = 10_000;

interface Sample {
  t: number;
  done: number;
}

/** Latency percentiles where a probe that never started counts as infinitely late. */
function probeStats(sent: number[], seen: Map<number, number>): ProbeResult {
  const lat = sent.map((s) => seen.get(s) ?? Number.POSITIVE_INFINITY);
  const started = lat.filter(Number.isFinite);
  return {
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    max: maxOf(started),
    created: sent.length,
    started: started.length,
  };
}

/**
 * Keeps at least `target` tasks queued and samples how many finished, until stopped. Counting and
 * topping up run in one loop, so the count never races an insert that has not been added to
 * `enqueued` yet.
 */
function loadLoop(sys: System, target: number, enqueued: number, onSample: (s: Sample, left: number) => void) {
  let running = true;
  let rate = 0;
  let prev: Sample | undefined;
  const done = (async () => {
    while (running) {
      const left = await sys.remaining();
      const s = { t: epochMs(), done: enqueued - left };
      if (prev && s.t > prev.t) rate = 0.7 * rate + (0.3 * (s.done - prev.done) * 1000) / (s.t - prev.t);
      prev = s;
      onSample(s, left);
      // refill before the backlog could reach the target during the next round (~2 s of work)
      if (left < target + Math.max(CHUNK, 2 * rate)) {
        const add = target + Math.max(2 * CHUNK, 4 * rate) - left;
        await sys.enqueueBulk(Math.round(add), CHUNK, { background: true });
        enqueued += Math.round(add);
      } else {
        // four counts a second: enough for the 2 s throughput lines, while the count itself
        // (an index scan over the backlog) stays a small part of the Postgres CPU measured
        await sleep(250);
      }
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
    },
  };
}

async function runOne({ o, r, logDir, say, server }: Bench, sys: System, cfg: WorkerConfig): Promise<ContinuousResult> {
  const target = o.continuousQueued;
  await sys.reset();
  const initial = target + 2 * CHUNK;
  doing(`${cfg.label}: queueing ${fmt(initial)} tasks before the workers start`);
  await sys.enqueueBulk(initial, CHUNK, { background: true });
  let children: Child[] = [];
  try {
    children = await sys.startWorkers(cfg, o.continuousInstances, logDir);
    noteConfig(r, cfg, children);
    const seen = new Map<number, number>();
    for (const c of children) c.onProbe((m) => seen.set(m.sent, m.start - m.sent));

    let measuring = false;
    let minQueued = Number.POSITIVE_INFINITY;
    const ticks: number[] = [];
    let tickFrom: Sample | undefined;
    let last: Sample | undefined;
    const tickMs = o.tickSeconds * 1000;
    const load = loadLoop(sys, target, initial, (s, left) => {
      last = s;
      if (measuring) minQueued = Math.min(minQueued, left);
      tickFrom ??= s;
      if (s.t - tickFrom.t >= tickMs) {
        const rate = ((s.done - tickFrom.done) * 1000) / (s.t - tickFrom.t);
        if (measuring) ticks.push(rate);
        say(`    ${cfg.label}: ${fmt(rate)} tasks/s (${fmt(left)} queued or running${measuring ? "" : ", warm-up"})`);
        tickFrom = s;
      }
    });
    try {
      await sleep(o.continuousWarmup * 1000);
      const pids = children.map((c) => c.proc.pid ?? 0);
      const meter = await startMeter(server, pids);
      measuring = true;
      const from = last ?? { t: epochMs(), done: 0 };
      // probes: open loop, one every 1000 / probeRate ms, whatever happened to earlier ones
      const sent: number[] = [];
      const creates: Promise<unknown>[] = [];
      const t0 = epochMs();
      const end = t0 + o.continuousSeconds * 1000;
      const period = o.probeRate > 0 ? 1000 / o.probeRate : Number.POSITIVE_INFINITY;
      for (let i = 0; t0 + i * period < end; i++) {
        const wait = t0 + i * period - epochMs();
        if (wait > 0) await sleep(wait);
        const s = epochMs();
        sent.push(s);
        creates.push(sys.probe(s, children, true));
      }
      await sleep(Math.max(0, end - epochMs()));
      const usage = await meter();
      measuring = false;
      const to = last ?? from;
      await Promise.all(creates);
      const graceEnd = epochMs() + PROBE_GRACE_MS;
      while (sent.some((s) => !seen.has(s)) && epochMs() < graceEnd) await sleep(50);
      const rate = ((to.done - from.done) * 1000) / Math.max(1, to.t - from.t);
      return {
        instances: o.continuousInstances,
        seconds: (to.t - from.t) / 1000,
        rate,
        ticks,
        minQueued,
        target,
        // samples can lag the window's edges by a top-up; the rate between them applies to the
        // meter's exact window
        cost: perTask(usage, (rate * usage.elapsedMs) / 1000),
        probe: probeStats(sent, seen),
      };
    } finally {
      await load.stop();
    }
  } finally {
    noteMemory(r, cfg.label, await stopAll(children));
  }
}

const ms = (x: number) => (Number.isFinite(x) ? `${x.toFixed(1)} ms` : `> ${PROBE_GRACE_MS / 1000} s`);

export async function continuousStage(b: Bench) {
  const { o, r, systems, configs, say } = b;
  for (const cfg of configs) {
    const sys = systems[cfg.system];
    r.priority[sys.name] = sys.priorityNote;
    say(
      `  ${cfg.label}: ${o.continuousInstances} instance(s), ≥ ${fmt(o.continuousQueued)} queued, ${o.continuousWarmup} s warm-up + ${o.continuousSeconds} s; ` +
        `probe (${sys.priorityNote.split(" (")[0]}) ${o.probeRate}/s`,
    );
    const c = await runOne(b, sys, cfg);
    r.continuous[cfg.label] = c;
    r.checks.push(
      `continuous, ${cfg.label}: fewest tasks queued or running at a check ${fmt(c.minQueued)} ` +
        `(${c.minQueued >= c.target ? "never below" : "**below**"} the ${fmt(c.target)} target); ${c.probe.started} of ${c.probe.created} probes started`,
    );
    say(
      `    ${fmt(c.rate)} tasks/s; probe p50 ${ms(c.probe.p50)}, p99 ${ms(c.probe.p99)} (${c.probe.started}/${c.probe.created} started); ` +
        `${costLine(c.cost)}; fewest queued ${fmt(c.minQueued)}`,
    );
    await sys.reset();
    b.save();
  }
}
