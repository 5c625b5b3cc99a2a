/**
 * Operations plug-in: crash recovery, retention pruning, jobs-table compaction and /metrics. They share one metrics
 * registry per service: recoveries and prunes are counted where they happen.
 */
import { BatonMetrics } from "../metrics/metrics.js";
import { metricsRoutes } from "../metrics/metrics.routes.js";
import { Compactor } from "../retention/compactor.js";
import { Pruner } from "../retention/pruner.js";
import { type Component, type Plugin, VERSION } from "../service.js";
import { Recovery } from "./recovery.js";

export const operationsPlugin: Plugin = {
  name: "operations",
  setup(core) {
    const { config, database, worker, log } = core;
    const metrics = new BatonMetrics({
      database,
      worker,
      instanceId: config.INSTANCE_ID,
      version: VERSION,
      concurrency: config.WORKER_CONCURRENCY,
      deadAfterMs: config.INSTANCE_DEAD_AFTER_MS,
      log: log.child({ component: "metrics" }),
    });
    const recovery = new Recovery(
      database,
      worker,
      log.child({ component: "recovery" }),
      {
        instanceId: config.INSTANCE_ID,
        intervalMs: config.RECOVERY_INTERVAL_MS ?? config.HEARTBEAT_INTERVAL_MS,
        deadAfterMs: config.INSTANCE_DEAD_AFTER_MS,
      },
      { onRecovered: (_id, tasks) => metrics.observeRecovery(tasks) },
    );
    const pruner = new Pruner(
      database,
      log.child({ component: "pruner" }),
      {
        retentionDays: config.RETENTION_DAYS,
        failedRetentionDays: config.FAILED_RETENTION_DAYS,
        intervalMs: config.PRUNE_INTERVAL_MS,
        batchSize: config.PRUNE_BATCH_SIZE,
      },
      (n) => metrics.pruned.inc({}, n),
    );
    const compactor = new Compactor(database, log.child({ component: "compactor" }), { intervalMs: config.JOBS_COMPACT_INTERVAL_MS }, () =>
      metrics.jobsCompacted.inc(),
    );
    // Subscribed now, before the worker starts claiming, so no attempt goes uncounted.
    metrics.attach();
    const metricsComponent: Component = {
      name: "metrics",
      start: async () => {},
      stop: async () => metrics.detach(),
    };
    return {
      components: [metricsComponent, recovery, pruner, compactor],
      app: { routes: [metricsRoutes(metrics)] },
    };
  },
};
