// Times: server-rendered UTC instants shown in the browser's locale, and ages that keep ticking.
import { $$ } from "./dom.js";

const loadedAt = Date.now();

export function fmtDuration(ms) {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(ms < 10000 ? 1 : 0)} s`;
  if (ms < 3600000) return `${Math.floor(ms / 60000)} min ${Math.floor((ms % 60000) / 1000)} s`;
  if (ms < 86400000) return `${Math.floor(ms / 3600000)} h ${Math.floor((ms % 3600000) / 60000)} min`;
  return `${Math.floor(ms / 86400000)} d ${Math.floor((ms % 86400000) / 3600000)} h`;
}

export function localiseTimes(root) {
  for (const t of $$("time[data-local='time']", root)) {
    const d = new Date(t.getAttribute("datetime"));
    if (!Number.isNaN(+d)) {
      t.textContent = d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
      t.title = d.toISOString();
    }
  }
}

export function tickAges() {
  const now = Date.now();
  for (const el of $$("[data-age-ms]")) {
    if (!el.dataset.ageBase) el.dataset.ageBase = String(loadedAt - Number(el.dataset.ageMs));
    el.textContent = `${fmtDuration(Math.max(0, now - Number(el.dataset.ageBase)))} ago`;
  }
  for (const t of $$("time[data-local='age']")) {
    const at = Date.parse(t.getAttribute("datetime"));
    if (!Number.isNaN(at)) t.textContent = `${fmtDuration(Math.max(0, now - at))} ago`;
  }
}
