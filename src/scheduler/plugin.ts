/**
 * The scheduler plug-in: the scheduler loop (when SCHEDULER_ENABLED) and the "scheduler" section
 * of GET /api/status. The /api/schedules routes belong to the API itself (src/api/app.ts), so an
 * API-only instance manages schedules too, and the scheduler imports nothing from src/api.
 */
import { schedulerSummary } from "../db/queries/schedules.js";
import type { Plugin } from "../service.js";
import { Scheduler } from "./scheduler.js";

/** Schedules claimed per transaction. 100 firings commit in one statement in a few ms. */
const BATCH_SIZE = 100;

export const schedulerPlugin: Plugin = {
  name: "scheduler",
  setup(core) {
    const { config, database, log } = core;
    const scheduler = config.SCHEDULER_ENABLED
      ? new Scheduler({
          database,
          log: log.child({ component: "scheduler" }),
          instanceId: config.INSTANCE_ID,
          options: { tickMs: config.SCHEDULER_TICK_MS, graceMs: config.SCHEDULER_MISFIRE_GRACE_MS, batchSize: BATCH_SIZE },
        })
      : null;
    return {
      components: scheduler ? [scheduler] : [],
      app: {
        statusSections: [
          async () => {
            const s = await schedulerSummary(database.db);
            return [
              "scheduler",
              {
                enabled: scheduler !== null,
                tickMs: config.SCHEDULER_TICK_MS,
                misfireGraceMs: config.SCHEDULER_MISFIRE_GRACE_MS,
                active: s.active,
                paused: s.paused,
                inactive: s.inactive,
                nextDue: s.nextDue ? { id: s.nextDue.id, name: s.nextDue.name, nextRunAt: s.nextDue.nextRunAt.toISOString() } : null,
              },
            ];
          },
        ],
      },
    };
  },
};
