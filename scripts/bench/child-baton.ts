/**
 * A baton instance for the benchmark: exactly what src/main.ts starts (config from the
 * environment, every plug-in in src/plugins.ts, the worker pool, the API), plus one task type,
 * `bench.probe`, registered the way any custom type is. Its handler reports the moment it starts,
 * so latency is measured to handler start, not to a database timestamp.
 */
import { z } from "zod";
import { loadConfig } from "../../src/config.js";
import { plugins } from "../../src/plugins.js";
import { startService } from "../../src/service.js";
import { registerTaskType } from "../../src/worker/registry.js";
import { epochMs } from "./stats.js";
import { exitOnStop } from "./child-stop.js";

registerTaskType({
  name: "bench.probe",
  description: "Benchmark probe: reports the instant its handler starts to the benchmark process.",
  params: z.object({ sent: z.number() }),
  handler: async (p) => {
    const start = epochMs();
    process.send?.({ type: "probe", sent: p.sent, start });
    return null;
  },
});

const service = await startService(loadConfig(), { plugins });
// The effective worker settings (defaults resolved), so the results state what ran.
const c = service.config;
const settings = {
  WORKER_CONCURRENCY: c.WORKER_CONCURRENCY,
  WORKER_LOCAL_QUEUE_SIZE: c.WORKER_LOCAL_QUEUE_SIZE,
  WORKER_COMPLETE_BATCH_DELAY_MS: c.WORKER_COMPLETE_BATCH_DELAY_MS,
  WORKER_POLL_INTERVAL_MS: c.WORKER_POLL_INTERVAL_MS,
  DB_POOL_SIZE: c.DB_POOL_SIZE,
  SCHEDULER_ENABLED: c.SCHEDULER_ENABLED,
  HEARTBEAT_INTERVAL_MS: c.HEARTBEAT_INTERVAL_MS,
};
process.send?.({ type: "ready", url: service.url, instanceId: c.INSTANCE_ID, settings });
exitOnStop(() => service.stop());
