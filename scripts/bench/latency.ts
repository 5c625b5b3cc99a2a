/**
 * (c) Latency from create to handler start, open loop: one create every 1000/rate ms whether or
 * not earlier ones have started. The create is an HTTP POST /api/tasks for baton and an in-process
 * addJob / send / add for the others. Each job carries the epoch-ms instant it was sent; the
 * handler (in the worker process) reports the instant it started. Same host, same clock.
 * baton runs as shipped, graphile-worker at its defaults, pg-boss and BullMQ with the settings
 * of their configuration (pg-boss: LISTEN/NOTIFY on, so it does not wait for a poll).
 */
import type { Bench } from "./context.js";
import type { BenchOptions } from "./options.js";
import type { ProbeMessage } from "./proc.js";
import { stopAll } from "./proc.js";
import { type LatencyResult, noteConfig, noteMemory } from "./results.js";
import { epochMs, maxOf, percentile, sleep, until } from "./stats.js";
import { allConfigs } from "./systems.js";

async function openLoop(rate: number, seconds: number, create: (sent: number) => Promise<unknown>): Promise<{ sent: number[]; createMs: number[] }> {
  const total = Math.round(rate * seconds);
  const period = 1000 / rate;
  const sent: number[] = [];
  const createMs: number[] = [];
  const inflight: Promise<unknown>[] = [];
  const t0 = epochMs() + 20;
  for (let i = 0; i < total; i++) {
    const due = t0 + i * period;
    const wait = due - epochMs();
    if (wait > 0) await sleep(wait);
    const s = epochMs();
    sent.push(s);
    inflight.push(create(s).then(() => createMs.push(epochMs() - s)));
  }
  await Promise.all(inflight);
  return { sent, createMs };
}

async function probeRun(
  o: BenchOptions,
  child: { onProbe(fn: (m: ProbeMessage) => void): void },
  create: (sent: number) => Promise<unknown>,
): Promise<LatencyResult> {
  const seen = new Map<number, number>();
  child.onProbe((m) => seen.set(m.sent, m.start - m.sent));
  // warm-up: a second of probes, discarded
  const warm = await openLoop(o.latencyRate, 1, create);
  await until(async () => warm.sent.every((s) => seen.has(s)), "latency warm-up", 60_000, 20);
  const reps: { lat: number[]; createMs: number[] }[] = [];
  for (let i = 0; i < o.reps; i++) {
    const run = await openLoop(o.latencyRate, o.latencySeconds / o.reps, create);
    await until(async () => run.sent.every((s) => seen.has(s)), "latency probes", 60_000, 20);
    reps.push({ lat: run.sent.map((s) => seen.get(s)!), createMs: run.createMs });
  }
  const all = reps.flatMap((x) => x.lat);
  const creates = reps.flatMap((x) => x.createMs);
  return {
    p50: percentile(all, 50),
    p99: percentile(all, 99),
    max: maxOf(all),
    count: all.length,
    createP50: percentile(creates, 50),
    createP99: percentile(creates, 99),
    repsP50: reps.map((x) => percentile(x.lat, 50)),
    repsP99: reps.map((x) => percentile(x.lat, 99)),
  };
}

/** The configuration each system's latency is measured with: its main one (graphile-worker: default). */
const LATENCY_CONFIG: Record<string, string> = {
  baton: "baton",
  "graphile-worker": "graphile-worker (default)",
  "pg-boss": "pg-boss",
  bullmq: "bullmq",
};

export async function latencyStage({ o, r, systems, logDir, say }: Bench) {
  const round = (x: LatencyResult) => `p50 ${x.p50.toFixed(1)} ms, p99 ${x.p99.toFixed(1)} ms (n=${x.count})`;
  const configs = allConfigs(o);
  for (const sys of Object.values(systems)) {
    const cfg = configs.find((c) => c.label === LATENCY_CONFIG[sys.name]);
    if (!cfg) continue;
    say(`  ${cfg.label}: create → handler start, ${o.latencyRate}/s for ${o.latencySeconds} s`);
    await sys.reset();
    const children = await sys.startWorkers(cfg, 1, logDir);
    try {
      noteConfig(r, cfg, children);
      r.latency[sys.name] = await probeRun(o, children[0], (sent) => sys.probe(sent, children, false));
      say(`    ${round(r.latency[sys.name])}`);
    } finally {
      noteMemory(r, cfg.label, await stopAll(children));
    }
  }
}
