/**
 * `npm run bench`: baton against graphile-worker (used directly) and pg-boss, side by side in one
 * run on one Postgres (embedded by default, or DATABASE_URL). Stages: (a) enqueue, (b) processing,
 * (c) latency, (d) scale, and (e) peak RSS of every worker process. Warm-up, then at least 3
 * repetitions; medians and the ratios baton / graphile-worker and baton / pg-boss are printed and
 * written to bench-results/<timestamp>/ as results.json, results.md and chart.svg.
 *
 *   npm run bench                                # full run (~20 min on 2 cores)
 *   npm run bench -- --scale=small               # 10k instead of 100k, 100k instead of 1M
 *   npm run bench -- --only=processing,latency   # some stages
 *   npm run bench -- --systems=baton,graphile-worker
 *   npm run bench -- --configs=baton-localqueue,graphile-worker-batched,pg-boss
 * Every flag also reads from BENCH_<NAME> (see scripts/bench/options.ts).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { enqueueStage } from "./bench/enqueue.js";
import { latencyStage } from "./bench/latency.js";
import { loadOptions } from "./bench/options.js";
import { startServer } from "./bench/postgres.js";
import { processingStage } from "./bench/processing.js";
import { build, ROOT } from "./bench/proc.js";
import { chartSvg, explainMarkdown, markdown } from "./bench/report.js";
import { newResults } from "./bench/results.js";
import { scaleStage } from "./bench/scale.js";
import { Baton, Boss, Graphile, type System, workerConfigs } from "./bench/systems.js";

const o = loadOptions(process.argv.slice(2), process.env);
const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
const outDir = path.resolve(ROOT, o.outDir, stamp);
const logDir = path.join(outDir, "logs");
mkdirSync(logDir, { recursive: true });
const t0 = Date.now();
const say = (s: string) => process.stdout.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${s}\n`);

say(`baton benchmark: scale=${o.scale}, stages=${o.stages.join(",")}, systems=${o.systems.join(",")}, reps=${o.reps}`);
say(`results → ${path.relative(ROOT, outDir)}`);
say(o.runtime === "dist" ? "compiling src/ and the bench children into dist/ (tsc)" : "running TypeScript sources through tsx");
build(o.runtime, say);
const server = await startServer(o);
say(`Postgres: ${server.version.split(",")[0]} (${server.embedded ? `embedded, ${o.pgDir}, port ${o.pgPort}` : "DATABASE_URL"})`);

const cpus = os.cpus();
const results = newResults(
  {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? "unknown",
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    postgres: server.version,
    postgresSettings: server.settings,
    postgresEmbedded: server.embedded,
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
  },
  { ...o, databaseUrl: o.databaseUrl ? "(DATABASE_URL)" : undefined },
);

const baton = new Baton(await server.freshDatabase("bench_baton"));
await baton.setup();
const gw = o.systems.includes("graphile-worker") ? new Graphile(await server.freshDatabase("bench_graphile")) : undefined;
await gw?.setup();
const boss = o.systems.includes("pg-boss") ? new Boss(await server.freshDatabase("bench_pgboss")) : undefined;
await boss?.setup();
const systems: Record<string, System> = { baton };
if (gw) systems["graphile-worker"] = gw;
if (boss) systems["pg-boss"] = boss;

const save = () => {
  results.finishedAt = new Date().toISOString();
  results.durationS = Math.round((Date.now() - t0) / 1000);
  writeFileSync(path.join(outDir, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(path.join(outDir, "results.md"), markdown(results));
  writeFileSync(path.join(outDir, "chart.svg"), chartSvg(results));
  if (Object.keys(results.explain).length) writeFileSync(path.join(outDir, "explain.md"), explainMarkdown(results));
};

try {
  if (o.stages.includes("enqueue")) {
    say("(a) enqueue");
    await enqueueStage(o, results, { baton, gw, boss }, logDir, say);
    save();
  }
  if (o.stages.includes("processing")) {
    say("(b) processing");
    await processingStage(o, results, systems, workerConfigs(o), logDir, say, server.dataDir, save);
    save();
  }
  if (o.stages.includes("latency")) {
    say("(c) latency");
    await latencyStage(o, results, { baton, gw, boss }, logDir, say);
    save();
  }
  if (o.stages.includes("scale")) {
    say("(d) scale");
    await scaleStage(o, results, systems, workerConfigs(o), logDir, say);
    save();
  }
} finally {
  save();
  await Promise.allSettled([baton.close(), gw?.close(), boss?.close()]);
  await server.stop();
}
process.stdout.write(`\n${markdown(results)}\n`);
say(`done in ${Math.round((Date.now() - t0) / 1000)} s; ${path.relative(ROOT, outDir)}/results.md, chart.svg`);
process.exit(0);
