// Live regions and the event stream. Elements with data-live and an id are re-rendered by
// fetching this same page again and swapping them in; forms and focus outside them are left
// alone, and checked boxes survive. The overview's counters update from the event itself; its
// tables (throughput, per-type statistics, instances) are re-read at most every 5 s. Lists that
// count their totals every 2 s. After a swap, "baton:refreshed" fires on the document. A
// re-render asks only for the live regions (x-baton-refresh: regions).
import { $, $$, page, toast } from "./dom.js";
import { localiseTimes, tickAges } from "./times.js";

const REFRESH_GAP_MS = { overview: 5000, tasks: 2000, task: 1000, schedules: 1000, queues: 500, settings: 2000, "task-types": 5000 };
let refreshTimer = null;
let lastRefresh = 0;
let refreshing = false;

export function scheduleRefresh() {
  if (!$("[data-live]")) return;
  if (refreshTimer) return;
  const gap = REFRESH_GAP_MS[page] ?? 2000;
  const wait = Math.max(50, lastRefresh + gap - Date.now());
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    refresh();
  }, wait);
}

export async function refresh() {
  if (refreshing) {
    scheduleRefresh();
    return;
  }
  refreshing = true;
  lastRefresh = Date.now();
  try {
    // "regions": the server may leave out what lies outside the live regions (a task's graph)
    const res = await fetch(location.href, { credentials: "same-origin", headers: { accept: "text/html", "x-baton-refresh": "regions" } });
    if (!res.ok) return;
    const doc = new DOMParser().parseFromString(await res.text(), "text/html");
    const checked = new Set($$("input[name='id']:checked").map((i) => i.value));
    for (const el of $$("[data-live][id]")) {
      const fresh = doc.getElementById(el.id);
      if (!fresh) continue;
      const active = document.activeElement;
      const focusKey = active && el.contains(active) ? focusKeyOf(active) : null;
      el.replaceWith(fresh);
      if (focusKey) restoreFocus(fresh, focusKey);
    }
    for (const i of $$("input[name='id']")) i.checked = checked.has(i.value);
    localiseTimes(document);
    tickAges();
    document.dispatchEvent(new CustomEvent("baton:refreshed"));
  } catch {
    // offline for a moment: the next event tries again
  } finally {
    refreshing = false;
  }
}

function focusKeyOf(el) {
  if (el.id) return `#${CSS.escape(el.id)}`;
  if (el.name && el.value) return `[name="${CSS.escape(el.name)}"][value="${CSS.escape(el.value)}"]`;
  if (el.dataset.action && el.dataset.id) return `[data-action="${el.dataset.action}"][data-id="${el.dataset.id}"]`;
  if (el.dataset.scheduleAction && el.dataset.id) return `[data-schedule-action="${el.dataset.scheduleAction}"][data-id="${el.dataset.id}"]`;
  return null;
}

function restoreFocus(root, key) {
  const el = root.querySelector(key);
  if (el) el.focus();
}

const fmtInt = new Intl.NumberFormat("en-US");
function applyCounts(counts) {
  if (!counts) return;
  for (const el of $$("[data-count]")) {
    const v = counts[el.dataset.count];
    if (typeof v === "number") {
      const text = fmtInt.format(v);
      if (el.textContent !== text) el.textContent = text;
    }
  }
}

function setLive(state, text) {
  const el = $("#live-state");
  if (!el) return;
  el.dataset.state = state;
  el.textContent = text;
}

/** Opens /events and routes each event to the counters, a refresh or a toast. */
export function connect() {
  if (!window.EventSource) {
    setLive("off", "no live updates in this browser");
    return;
  }
  const es = new EventSource("/events");
  es.addEventListener("open", () => setLive("live", "live"));
  es.addEventListener("error", () => setLive("reconnecting", "reconnecting…"));
  // "baton:tasks" on the document: tasks may have changed (graph.js listens). Also on hello, which
  // follows every (re)connection: a change made before it was not announced.
  const tasksChanged = () => document.dispatchEvent(new CustomEvent("baton:tasks"));
  es.addEventListener("hello", (e) => {
    setLive("live", "live");
    applyCounts(JSON.parse(e.data).counts);
    tasksChanged();
  });
  es.addEventListener("tasks", (e) => {
    applyCounts(JSON.parse(e.data).counts);
    tasksChanged();
    if (page === "overview" || page === "tasks" || page === "task" || page === "settings" || page === "task-types" || page === "queues") scheduleRefresh();
  });
  es.addEventListener("schedules", () => {
    if (page === "schedules" || page === "overview") scheduleRefresh();
  });
  es.addEventListener("queues", () => {
    if (page === "queues") scheduleRefresh();
  });
  es.addEventListener("schedule_deactivated", (e) => {
    let name = "";
    try {
      const d = JSON.parse(e.data);
      name = d.name || d.scheduleName || (d.id ? `#${d.id}` : "");
    } catch {}
    toast(`Schedule ${name} was deactivated.`, "warn");
    if (page === "schedules") scheduleRefresh();
  });
}
