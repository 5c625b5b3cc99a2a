/**
 * `npm run bench`: baton against graphile-worker (used directly, default and batched), pg-boss 12
 * and BullMQ 6 on its PostgreSQL backend, side by side in one run on one Postgres (embedded by
 * default, or DATABASE_URL). Stages: (a) enqueue, (b) processing, (b2) queues (baton's drain
 * spread over 100 queues and through one rate-limited queue, against the plain drain), (c) latency, (d) scale,
 * (f) continuous load with priority probes, (g) idle, (h) workflows (baton's task dependencies:
 * fan-out/fan-in, a chain and diamonds against as many independent tasks), and (e) peak RSS of
 * every worker process.
 * Every throughput figure comes with its Postgres CPU and WAL bytes per task; ratios baton /
 * anchor are computed within the run. Printed, and written to bench-results/<timestamp>/ as
 * results.json, results.md and chart.svg. A progress line appears at least every 5 s.
 *
 *   npm run bench                                # full run
 *   npm run bench -- --scale=small               # every stage, smaller (under 10 minutes)
 *   npm run bench -- --only=continuous,idle      # some stages
 *   npm run bench -- --only=queues --drain=2000  # the queue drains alone, smaller
 *   npm run bench -- --systems=baton,bullmq
 *   npm run bench -- --only=workflows --systems=baton --scale=small
 *   npm run bench -- --configs=baton,graphile-worker-batched,pg-boss
 *   npm run bench -- --only=idle --statements     # embedded server with pg_stat_statements loaded
 *   npm run bench -- --only=continuous --continuous-seconds=120 --continuous-instances=1
 * Configurations (slugs for --configs): baton, graphile-worker-default, graphile-worker-batched,
 * pg-boss, bullmq; opt-in: baton-localqueue-off, baton-localqueue-500.
 * Every flag also reads from BENCH_<NAME> (see scripts/bench/options.ts).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Bench } from "./bench/context.js";
import { continuousStage } from "./bench/continuous.js";
import { enqueueStage } from "./bench/enqueue.js";
import { idleStage } from "./bench/idle.js";
import { latencyStage } from "./bench/latency.js";
import { loadOptions, type Stage } from "./bench/options.js";
import { startServer } from "./bench/postgres.js";
import { build, ROOT } from "./bench/proc.js";
import { processingStage } from "./bench/processing.js";
import { say, startProgress, stopProgress } from "./bench/progress.js";
import { queuesStage } from "./bench/queues.js";
import { chartSvg, explainMarkdown, markdown } from "./bench/report.js";
import { newResults } from "./bench/results.js";
import { scaleStage } from "./bench/scale.js";
import { Baton, Boss, Bull, Graphile, type System, workerConfigs } from "./bench/systems.js";
import { workflowsStage } from "./bench/workflows.js";

const o = loadOptions(process.argv.slice(2), process.env);
const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
const outDir = path.resolve(ROOT, o.outDir, stamp);
const logDir = path.join(outDir, "logs");
mkdirSync(logDir, { recursive: true });
const t0 = Date.now();
startProgress(t0);

const configs = workerConfigs(o);
say(`baton benchmark: scale=${o.scale}, stages=${o.stages.join(",")}, systems=${o.systems.join(",")}, reps=${o.reps}`);
say(`configurations: ${configs.map((c) => c.label).join(", ")}`);
say(`results → ${path.relative(ROOT, outDir)}`);
say(o.runtime === "dist" ? "compiling src/ and the bench children into dist/ (tsc)" : "running TypeScript sources through tsx");
await build(o.runtime, say);
say("starting Postgres");
const server = await startServer(o);
say(`Postgres: ${server.version.split(",")[0]} (${server.embedded ? `embedded, ${o.pgDir}, port ${o.pgPort}` : "DATABASE_URL"}); ` +
  `CPU ${server.postmasterPid ? `from /proc (postmaster ${server.postmasterPid}, every database on the server)` : "not visible from here"}; ` +
  `statements counted by ${server.statStatements ? "pg_stat_statements" : "pg_stat_database (pg_stat_statements is not loaded)"}`);

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
    postgresCpuVisible: server.postmasterPid !== null,
    statementSource: server.statStatements ? "pg_stat_statements" : "pg_stat_database",
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
  },
  { ...o, databaseUrl: o.databaseUrl ? "(DATABASE_URL)" : undefined },
);

const want = (s: string) => o.systems.includes(s as never);
const db = (name: string) => server.freshDatabase(`${o.dbPrefix}${name}`);
say("creating the databases and schemas");
const baton = new Baton(await db("baton"));
await baton.setup();
const gw = want("graphile-worker") ? new Graphile(await db("graphile")) : undefined;
await gw?.setup();
const boss = want("pg-boss") ? new Boss(await db("pgboss")) : undefined;
await boss?.setup();
const bull = want("bullmq") ? new Bull(await db("bullmq")) : undefined;
await bull?.setup();
const systems: Record<string, System> = { baton };
if (gw) systems["graphile-worker"] = gw;
if (boss) systems["pg-boss"] = boss;
if (bull) systems.bullmq = bull;
for (const s of Object.values(systems)) results.priority[s.name] = s.priorityNote;

const save = () => {
  results.finishedAt = new Date().toISOString();
  results.durationS = Math.round((Date.now() - t0) / 1000);
  writeFileSync(path.join(outDir, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(path.join(outDir, "results.md"), markdown(results));
  writeFileSync(path.join(outDir, "chart.svg"), chartSvg(results));
  if (Object.keys(results.explain).length) writeFileSync(path.join(outDir, "explain.md"), explainMarkdown(results));
};

const bench: Bench = { o, r: results, systems, named: { baton, gw, boss, bull }, configs, server, logDir, say, save };
const stages: [Stage, string, (b: Bench) => Promise<void>][] = [
  ["enqueue", "(a) enqueue", enqueueStage],
  ["processing", "(b) processing", processingStage],
  ["queues", "(b2) queues (baton)", queuesStage],
  ["latency", "(c) latency", latencyStage],
  ["scale", "(d) scale", scaleStage],
  ["continuous", "(f) continuous load with priority probes", continuousStage],
  ["idle", "(g) idle instances", idleStage],
  ["workflows", "(h) workflows", workflowsStage],
];
try {
  for (const [stage, title, run] of stages) {
    if (!o.stages.includes(stage)) continue;
    const ts = Date.now();
    say(title);
    try {
      await run(bench);
    } catch (err) {
      // one stage failing (a system that cannot start, say) should not cost the stages after it
      const msg = `${title} failed: ${(err as Error)?.stack ?? String(err)}`;
      results.errors.push(msg);
      say(msg);
    }
    results.stageSeconds[stage] = Math.round((Date.now() - ts) / 1000);
    say(`${title}: ${results.stageSeconds[stage]} s`);
    save();
  }
} finally {
  save();
  say("stopping");
  await Promise.allSettled([baton.close(), gw?.close(), boss?.close(), bull?.close()]);
  if (!server.embedded) await server.dropCreated(); // leave a shared server as it was
  await server.stop();
  stopProgress();
}
process.stdout.write(`\n${markdown(results)}\n`);
say(`done in ${Math.round((Date.now() - t0) / 1000)} s; ${path.relative(ROOT, outDir)}/results.md, chart.svg`);
process.exit(0);
