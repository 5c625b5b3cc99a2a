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
process.send?.({ type: "ready", url: service.url, instanceId: service.config.INSTANCE_ID });
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  service.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.on("disconnect", stop);
