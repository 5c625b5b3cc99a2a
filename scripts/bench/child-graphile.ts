/**
 * graphile-worker used directly, one runner per process. BENCH_GW_MODE=default leaves every
 * worker setting at graphile-worker's defaults; =batched turns on the local queue and batched
 * completion as on graphile-worker's performance page (with its maxPoolSize). Tasks: `noop`, and
 * `probe`, which reports the instant its handler starts.
 * Success logging is off (NO_LOG_SUCCESS, warnings and errors only), as baton's is.
 */
import { Logger, run } from "graphile-worker";
import { epochMs } from "./stats.js";
import { exitOnStop } from "./child-stop.js";

const env = process.env;
const batched = env.BENCH_GW_MODE === "batched";
const concurrency = Number(env.BENCH_CONCURRENCY ?? 10);
const logger = new Logger(() => (level, message) => {
  if (level === "error" || level === "warning") process.stderr.write(`${level}: ${message}\n`);
});

const runner = await run({
  connectionString: env.DATABASE_URL,
  concurrency,
  ...(batched ? { maxPoolSize: Number(env.BENCH_GW_POOL ?? 25) } : {}),
  noHandleSignals: true,
  logger,
  taskList: {
    noop: async () => {},
    probe: async (payload) => {
      const start = epochMs();
      process.send?.({ type: "probe", sent: (payload as { sent: number }).sent, start });
    },
  },
  preset: batched
    ? {
        worker: {
          localQueue: { size: Number(env.BENCH_LOCAL_QUEUE ?? 500) },
          completeJobBatchDelay: Number(env.BENCH_COMPLETE_BATCH_DELAY ?? 0),
          failJobBatchDelay: Number(env.BENCH_COMPLETE_BATCH_DELAY ?? 0),
        },
      }
    : {},
});
process.send?.({ type: "ready" });
exitOnStop(() => runner.stop());
