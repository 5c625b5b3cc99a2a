/**
 * (c) Latency from create to handler start, open loop: one create every 1000/rate ms whether or
 * not earlier ones have started. The create is an HTTP POST /api/tasks for baton and an in-process
 * addJob / send for the others. Each job carries the epoch-ms instant it was sent; the handler
 * (in the worker process) reports the instant it started. Same host, same clock.
 * Every system runs with its default worker settings (baton: localQueue off, as it ships).
 */
import type { BenchOptions } from "./options.js";
import type { ProbeMessage } from "./proc.js";
import { stopAll } from "./proc.js";
import { call } from "./http.js";
import { type LatencyResult, noteMemory, type Results } from "./results.js";
import { epochMs, percentile, sleep, until } from "./stats.js";
import type { Baton, Boss, Graphile } from "./systems.js";

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
    max: Math.max(...all),
    count: all.length,
    createP50: percentile(creates, 50),
    createP99: percentile(creates, 99),
    repsP50: reps.map((x) => percentile(x.lat, 50)),
    repsP99: reps.map((x) => percentile(x.lat, 99)),
  };
}

export async function latencyStage(o: BenchOptions, r: Results, s: { baton: Baton; gw?: Graphile; boss?: Boss }, logDir: string, say: (s: string) => void) {
  const round = (x: LatencyResult) => `p50 ${x.p50.toFixed(1)} ms, p99 ${x.p99.toFixed(1)} ms (n=${x.count})`;
  {
    say("  baton: POST /api/tasks → handler start");
    await s.baton.reset();
    const [inst] = await s.baton.startWorkers({ label: "baton latency", system: "baton", env: { WORKER_CONCURRENCY: String(o.concurrency) } }, 1, logDir);
    try {
      const url = String(inst.ready.url);
      r.latency.baton = await probeRun(o, inst, (sent) => call(`${url}/api/tasks`, "POST", { type: "bench.probe", payload: { sent } }, [201]));
      say(`    ${round(r.latency.baton)}`);
    } finally {
      noteMemory(r, "baton", await stopAll([inst]));
    }
  }
  if (s.gw) {
    const gw = s.gw;
    say("  graphile-worker (default): addJob → handler start");
    await gw.reset();
    const [inst] = await gw.startWorkers({ label: "graphile-worker latency", system: "graphile-worker", env: { BENCH_GW_MODE: "default", BENCH_CONCURRENCY: String(o.concurrency) } }, 1, logDir);
    try {
      r.latency["graphile-worker"] = await probeRun(o, inst, (sent) => gw.utils.addJob("probe", { sent }));
      say(`    ${round(r.latency["graphile-worker"])}`);
    } finally {
      noteMemory(r, "graphile-worker (default)", await stopAll([inst]));
    }
  }
  if (s.boss) {
    const boss = s.boss;
    say("  pg-boss (polling every 0.5 s, its minimum): send → handler start");
    await boss.reset();
    const [inst] = await boss.startWorkers({ label: "pg-boss latency", system: "pg-boss", env: { BENCH_BOSS_QUEUE: "probe" } }, 1, logDir);
    try {
      r.latency["pg-boss"] = await probeRun(o, inst, (sent) => boss.boss.send("probe", { sent }));
      say(`    ${round(r.latency["pg-boss"])}`);
    } finally {
      noteMemory(r, "pg-boss", await stopAll([inst]));
    }
  }
}
