/**
 * pg-boss 12 used directly, one instance per process, configured for throughput as its docs
 * describe: one work() call on the queue with `batchSize` jobs per fetch, `localConcurrency`
 * parallel workers and `burstWhenBatchFull` (fetch again at once while fetches come back full),
 * LISTEN/NOTIFY on (`useListenNotify`; the queue was created with `notify: true`). Maintenance
 * (supervise) and scheduling stay at their defaults, as an application would run it.
 * Load and probes share the queue; a probe job carries `sent` and reports when its batch starts.
 */
import { PgBoss } from "pg-boss";
import { epochMs } from "./stats.js";
import { exitOnStop } from "./child-stop.js";

const env = process.env;
const batchSize = Number(env.BENCH_BOSS_BATCH_SIZE ?? 10);
const localConcurrency = Number(env.BENCH_BOSS_LOCAL_CONCURRENCY ?? 10);
const boss = new PgBoss({ connectionString: env.DATABASE_URL, useListenNotify: true, migrate: false });
boss.on("error", (err: Error) => process.stderr.write(`pg-boss error: ${err.message}\n`));
await boss.start();
await boss.work<{ sent?: number }>("noop", { batchSize, localConcurrency, burstWhenBatchFull: true }, async (jobs) => {
  const start = epochMs();
  for (const job of jobs) if (job.data?.sent !== undefined) process.send?.({ type: "probe", sent: job.data.sent, start });
});
process.send?.({ type: "ready", settings: { batchSize, localConcurrency, burstWhenBatchFull: true, useListenNotify: true } });
exitOnStop(() => boss.stop({ graceful: true, timeout: 10_000 }));
