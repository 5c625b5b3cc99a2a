/**
 * BullMQ 6 on its PostgreSQL backend, one Worker per process, configured as its PostgreSQL guide
 * advises for throughput: `concurrency` jobs at once, a pg.Pool of BENCH_BULLMQ_POOL connections,
 * finished jobs removed (removeOnComplete / removeOnFail) so the table does not grow. Jobs named
 * `probe` report the instant their handler starts.
 */
import { createPostgresBackend, Worker } from "bullmq";
import { epochMs } from "./stats.js";
import { exitOnStop } from "./child-stop.js";

const env = process.env;
const concurrency = Number(env.BENCH_CONCURRENCY ?? 100);
const max = Number(env.BENCH_BULLMQ_POOL ?? 20);
const worker = new Worker(
  env.BENCH_BULLMQ_QUEUE ?? "bench",
  async (job) => {
    if (job.name === "probe") process.send?.({ type: "probe", sent: (job.data as { sent: number }).sent, start: epochMs() });
  },
  { connection: { connectionString: env.DATABASE_URL, max }, concurrency, removeOnComplete: { count: 0 }, removeOnFail: { count: 1000 } },
  createPostgresBackend,
);
worker.on("error", (err: Error) => process.stderr.write(`bullmq error: ${err.message}\n`));
await worker.waitUntilReady();
process.send?.({ type: "ready", settings: { concurrency, poolMax: max } });
exitOnStop(() => worker.close());
