/**
 * The composition: every optional part of baton, in the order it is wired. main.ts, the test
 * harness and the benchmark's instance pass this list to startService; nothing registers itself
 * on import.
 *
 * Order matters twice: middleware runs in list order (security first, so auth and rate limits
 * come before every route), and components start in list order and stop in reverse.
 */
import { securityPlugin } from "./api/security/index.js";
import { dashboardPlugin } from "./dashboard/plugin.js";
import { notifyPlugin } from "./notify/plugin.js";
import { operationsPlugin } from "./recovery/plugin.js";
import { schedulerPlugin } from "./scheduler/plugin.js";
import type { Plugin } from "./service.js";

export const plugins: readonly Plugin[] = [
  securityPlugin, // headers, auth, rate limit, JSON guard, idempotency
  operationsPlugin, // crash recovery, retention pruning, /metrics
  notifyPlugin, // notification settings and the notify task type
  dashboardPlugin, // pages, /events (SSE)
  schedulerPlugin, // the scheduler loop and its status section
];
