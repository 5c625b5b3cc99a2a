/**
 * pg-boss 10 used directly, one instance per process. pg-boss 10 has no teamSize: throughput comes
 * from `work()` loops, each fetching up to batchSize jobs per poll (the poll interval cannot go
 * below 0.5 s). BENCH_BOSS_LOOPS loops of BENCH_BOSS_BATCH_SIZE on `noop`; one loop on `probe`
 * for latency (every job of a fetched batch starts when the handler is called).
 */
import { PgBoss } from "pg-boss";
import { epochMs } from "./stats.js";

const env = process.env;
const loops = Number(env.BENCH_BOSS_LOOPS ?? 20);
const batchSize = Number(env.BENCH_BOSS_BATCH_SIZE ?? 100);
const boss = new PgBoss({ connectionString: env.DATABASE_URL, schedule: false, supervise: false, migrate: false });
boss.on("error", (err: Error) => process.stderr.write(`pg-boss error: ${err.message}\n`));
await boss.start();
if (env.BENCH_BOSS_QUEUE === "probe") {
  // batchSize 50: at 20 jobs/s a poll every 0.5 s finds ~10, so none waits for a second poll
  await boss.work<{ sent: number }>("probe", { batchSize: 50, pollingIntervalSeconds: 0.5 }, async (jobs: { data: { sent: number } }[]) => {
    const start = epochMs();
    for (const job of jobs) process.send?.({ type: "probe", sent: job.data.sent, start });
  });
} else {
  for (let i = 0; i < loops; i++) {
    await boss.work("noop", { batchSize, pollingIntervalSeconds: 0.5 }, async () => {});
  }
}
process.send?.({ type: "ready" });
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  boss.stop({ graceful: true, timeout: 10_000 }).then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on("SIGTERM", stop);
process.on("disconnect", stop);
