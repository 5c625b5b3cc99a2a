/**
 * Optional parts register themselves with the service on import (scheduler, recovery, metrics,
 * dashboard, auth, ...). main.ts and the test harness import this file.
 */
import "./api/security/index.js";
import "./recovery/plugin.js"; // crash recovery, retention pruning, /metrics
import "./dashboard/plugin.js"; // pages, /events (SSE), notifications
import "./scheduler/index.js"; // scheduler loop, /api/schedules, status section
