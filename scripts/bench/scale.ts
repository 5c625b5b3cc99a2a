/**
 * (d) Scale: does the drain rate hold when the tables are big?
 *   baseline: `scaleBaseline` jobs queued on empty tables, one instance;
 *   big:      `scaleRows` finished jobs kept as history (baton: completed tasks with their two log
 *             rows; pg-boss: completed jobs; graphile-worker keeps none) and `scaleRows` queued
 *             (topped up again before each configuration; history grows by what was drained).
 * Both rates are steady-state: the baseline between 90 % and 10 % remaining, the big case over
 * windows of about `scaleWindow` jobs, after a warm-up. With the big tables in place, baton's
 * API is timed (GET /api/tasks?status=pending&limit=100 and GET /api/tasks/{id}) and the claim,
 * list and count queries are EXPLAINed. The windows' Postgres CPU and WAL are divided by the
 * tasks they drained.
 */
import type { Bench } from "./context.js";
import { perTask, startMeter } from "./cpu.js";
import { explainBaton } from "./explain.js";
import { request } from "./http.js";
import type { BenchOptions } from "./options.js";
import { stopAll } from "./proc.js";
import { costLine } from "./processing.js";
import { doing } from "./progress.js";
import { measure, noteConfig, noteMemory, type Results } from "./results.js";
import { epochMs, median, percentile, sleep, until } from "./stats.js";
import type { Baton, System } from "./systems.js";

/** Rate between 90 % and 10 % remaining of n jobs queued in one transaction. */
async function steadyDrain(sys: System, n: number): Promise<number> {
  await sys.enqueueBulk(n);
  const marks: { t: number; left: number }[] = [];
  await until(
    async () => {
      const t = epochMs();
      const left = await sys.remaining();
      marks.push({ t, left });
      return left === 0;
    },
    `${sys.name} baseline drain`,
    600_000,
    10,
  );
  const a = marks.find((m) => m.left <= 0.9 * n)!;
  const b = marks.find((m) => m.left <= 0.1 * n)!;
  // a queue drained between two polls has no steady part to measure: use the whole drain
  if (b.t <= a.t) return n / Math.max(0.001, (marks[marks.length - 1].t - marks[0].t) / 1000);
  return (a.left - b.left) / ((b.t - a.t) / 1000);
}

async function timeApi(url: string, paths: () => string, samples: number): Promise<{ p50: number; p99: number; count: number }> {
  for (let i = 0; i < 20; i++) await request(url + paths(), "GET"); // warm-up
  const ms: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    const r = await request(url + paths(), "GET");
    ms.push(performance.now() - t);
    if (r.status !== 200) throw new Error(`GET ${paths()} → ${r.status}: ${r.body.slice(0, 200)}`);
  }
  return { p50: percentile(ms, 50), p99: percentile(ms, 99), count: ms.length };
}

async function batonApi(o: BenchOptions, r: Results, baton: Baton, logDir: string, say: (s: string) => void) {
  const [inst] = await baton.startWorkers({ label: "baton api scale", system: "baton", env: { WORKER_ENABLED: "false" }, settings: "", source: "" }, 1, logDir);
  try {
    const url = String(inst.ready.url);
    const [{ rows, lo, hi }] = await baton.admin`select count(*)::int as rows, min(id)::bigint as lo, max(id)::bigint as hi from baton.tasks`;
    const list = await timeApi(url, () => "/api/tasks?status=pending&limit=100", o.apiSamples);
    r.api["GET /api/tasks?status=pending&limit=100"] = { ...list, rows };
    const get = await timeApi(url, () => `/api/tasks/${lo + Math.floor(Math.random() * (hi - lo + 1))}`, o.apiSamples);
    r.api["GET /api/tasks/{id}"] = { ...get, rows };
    const body = JSON.parse((await request(`${url}/api/tasks?status=pending&limit=100`, "GET")).body) as { total: number; totalEstimated?: boolean };
    r.checks.push(`list at ${rows} rows: total=${body.total}${body.totalEstimated ? " (estimated)" : ""}`);
    say(`    list p50 ${list.p50.toFixed(1)} ms p99 ${list.p99.toFixed(1)} ms; get p50 ${get.p50.toFixed(1)} ms p99 ${get.p99.toFixed(1)} ms (${rows} rows)`);
  } finally {
    await stopAll([inst]);
  }
  Object.assign(r.explain, await explainBaton(baton));
}

export async function scaleStage({ o, r, systems, configs, logDir, say, server }: Bench) {
  const scaleConfigs = configs.filter((c) => c.label !== "graphile-worker (default)");
  for (const sys of Object.values(systems)) {
    const mine = scaleConfigs.filter((c) => c.system === sys.name);
    if (mine.length === 0) continue;
    // baseline: small queue on empty tables
    for (const cfg of mine) {
      say(`  ${cfg.label}: baseline, ${o.scaleBaseline} queued on empty tables`);
      await sys.reset();
      const children = await sys.startWorkers(cfg, 1, logDir);
      try {
        noteConfig(r, cfg, children);
        await steadyDrain(sys, Math.min(5000, o.scaleBaseline)); // warm-up
        const rates: number[] = [];
        for (let i = 0; i < o.reps; i++) {
          await sys.reset();
          rates.push(await steadyDrain(sys, o.scaleBaseline));
        }
        r.scale[cfg.label] = { baseline: measure(rates, "tasks/s") };
        say(`    ${rates.map((x) => Math.round(x)).join(", ")} tasks/s`);
      } finally {
        noteMemory(r, cfg.label, await stopAll(children));
      }
    }
    // the big tables
    say(`  ${sys.name}: building ${o.scaleRows.toLocaleString("en-US")} history + ${o.scaleRows.toLocaleString("en-US")} queued`);
    await sys.reset();
    const t = Date.now();
    doing(`${sys.name}: writing ${o.scaleRows.toLocaleString("en-US")} history rows`);
    const history = await sys.addHistory(o.scaleRows);
    doing(`${sys.name}: queueing ${o.scaleRows.toLocaleString("en-US")} jobs`);
    await sys.enqueueBulk(o.scaleRows, 50_000);
    doing(`${sys.name}: vacuum analyze`);
    await sys.admin.unsafe("vacuum analyze");
    say(`    built in ${Math.round((Date.now() - t) / 1000)} s`);
    if (sys.name === "baton") await batonApi(o, r, sys as Baton, logDir, say);
    for (const cfg of mine) {
      say(`  ${cfg.label}: drain with ${o.scaleRows.toLocaleString("en-US")} queued and ${history.toLocaleString("en-US")} history`);
      const left = await sys.remaining();
      if (left < o.scaleRows) await sys.enqueueBulk(o.scaleRows - left, 50_000); // top the queue up again
      const children = await sys.startWorkers(cfg, 1, logDir);
      try {
        // The windows are sized from the rate seen now (workers start draining as soon as they
        // are up): about scaleWindow jobs each, between 1 and 20 s, but short enough that the
        // warm-up and every window together use at most 70 % of what is left, so a fast
        // configuration cannot run a small queue empty.
        const ta0 = epochMs();
        const q0 = await sys.remaining();
        await sleep(300);
        const q1 = await sys.remaining();
        const rate = Math.max(1, r.scale[cfg.label].baseline?.median ?? 0, (q0 - q1) / ((epochMs() - ta0) / 1000));
        const fits = ((0.7 * q1) / rate / (o.reps + 0.5)) * 1000;
        const windowMs = Math.max(100, Math.min(20_000, Math.max(1000, (o.scaleWindow / rate) * 1000), fits));
        await sleep(windowMs / 2); // warm-up
        const rates: number[] = [];
        const queued: number[] = [];
        const meter = await startMeter(server, children.map((c) => c.proc.pid ?? 0));
        let first: number | undefined;
        let last = 0;
        for (let i = 0; i < o.reps; i++) {
          const ta = epochMs();
          const qa = await sys.remaining();
          await sleep(windowMs - (epochMs() - ta));
          const tb = epochMs();
          const qb = await sys.remaining();
          queued.push(qa);
          if (qb === 0) throw new Error(`${cfg.label}: the queue ran empty during a window; raise --scale-rows`);
          rates.push((qa - qb) / ((tb - ta) / 1000));
          first ??= qa;
          last = qb;
        }
        // the meter runs from before the first count to after the last: every task drained
        // between them, the gaps between windows included
        r.scaleCost[cfg.label] = perTask(await meter(), (first ?? 0) - last);
        r.scale[cfg.label] = { ...r.scale[cfg.label], big: measure(rates, "tasks/s"), historyRows: history, queuedAtStart: queued };
        say(`    ${rates.map((x) => Math.round(x)).join(", ")} tasks/s (queued at window starts: ${queued.join(", ")}; baseline median ${Math.round(median(r.scale[cfg.label].baseline?.samples ?? []))}); ${costLine(r.scaleCost[cfg.label])}`);
      } catch (err) {
        // one configuration's windows failing leaves the others' measurements standing
        r.errors.push(`(d) scale, ${cfg.label}: ${(err as Error).message}`);
        say(`    failed: ${(err as Error).message}`);
      } finally {
        noteMemory(r, cfg.label, await stopAll(children));
      }
    }
    await sys.reset();
    await sys.admin.unsafe("vacuum");
  }
}
