// baton dashboard: live updates over Server-Sent Events and page actions through the JSON API.
// ES modules served from the same origin as the pages (script-src 'self'), without a bundler:
// no inline code, no libraries. Every request carries the session cookie
// (credentials: "same-origin"). Modules are strict and deferred, so the DOM is ready here.
//
//   dom.js        lookups, toast, api()          times.js     local times, ticking ages
//   live.js       live regions, /events          forms.js     field errors from problem+json
//   tasks.js      row and bulk task actions      schedules.js actions, create form, preview
//   settings.js   notifications form           queues.js    pause / resume
//   graph.js      a task's workflow graph, kept current from the graph API
import { page } from "./dom.js";
import { initGraph } from "./graph.js";
import { connect, scheduleRefresh } from "./live.js";
import { initQueues } from "./queues.js";
import { initSchedules } from "./schedules.js";
import { initSettings } from "./settings.js";
import { initTasks } from "./tasks.js";
import { localiseTimes, tickAges } from "./times.js";

/** Instances' heartbeats are not change events: pages that show them re-read on this timer. */
const HEARTBEAT_REFRESH_MS = 5000;

localiseTimes(document);
tickAges();
setInterval(tickAges, 1000);
initTasks();
initSchedules();
initQueues();
initSettings();
initGraph();
connect();
if (page === "overview" || page === "instances") {
  setInterval(() => {
    if (document.visibilityState === "visible") scheduleRefresh();
  }, HEARTBEAT_REFRESH_MS);
}
