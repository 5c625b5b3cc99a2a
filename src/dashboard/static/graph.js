// The workflow graph of a task page (src/dashboard/pages/workflow.tsx), kept current without a
// reload. After a change of tasks ("baton:tasks" from live.js), debounced, it re-reads
// GET /api/tasks/{id}/graph and recolours the drawn tasks in place: status class and text, the
// progress strip, the accessible name, and arrows solid once their parent completed. When the
// workflow's shape changed (tasks or dependencies added or removed: data-shape, computed as
// src/dashboard/workflow.ts does), or the task's own dependencies did (data-links of a live
// re-render), it re-reads the page and swaps in the graph the server laid out again.
//
// Re-reads are at least MIN_GAP_MS apart and 10x the last one's cost: a workflow of 20,000
// tasks is a large answer, and an open page should not fetch it back to back.
import { $, $$, page } from "./dom.js";

const SETTLE_MS = 200;
const MIN_GAP_MS = 1000;
/** Must match src/dashboard/workflow.ts and pages/workflow.tsx. */
const NODE_W = 176;
const NAME_CHARS = 22;
const NAMED_PARENTS = 5;

let timer = null;
let busy = false;
let lastAt = 0;
let lastCostMs = 0;
let dirty = false;
let needLayout = false;

function fmtProgress(percent) {
  const p = Math.min(100, Math.max(0, percent));
  return `${Number.isInteger(p) ? p : p.toFixed(1)}%`;
}

const statusLine = (t) => (t.status === "processing" && t.progress ? `${t.status} · ${fmtProgress(t.progress.percent)}` : t.status);

const clip = (s, n) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const nameLine = (id, name) => clip(`#${id} ${name}`, NAME_CHARS);

/** nodeLabel() of pages/workflow.tsx: the accessible name, or with `full` the tooltip. */
function nodeLabel(t, name, parents, current, full) {
  const more = parents.length > NAMED_PARENTS ? ` and ${parents.length - NAMED_PARENTS} more` : "";
  const waits = parents.length ? `, waits for ${parents.slice(0, NAMED_PARENTS).map((p) => `#${p}`).join(", ")}${more}` : "";
  return `${full ? `#${t.id} ${name}` : nameLine(t.id, name)}, ${statusLine(t)}${current ? ", this task" : ""}${waits}`;
}

const barWidth = (t) =>
  t.status === "processing" && t.progress ? Math.round((NODE_W - 2) * (Math.min(100, Math.max(0, t.progress.percent)) / 100)) : 0;

/** graphShape() of src/dashboard/workflow.ts: ids and edges, in any order. */
function shapeOf(g) {
  const M = 2147483647;
  let n = 0;
  for (const x of g.nodes) n = (n + (x.id % M)) % M;
  let e = 0;
  for (const x of g.edges) e = (e + (((x.from % M) * 31 + (x.to % M)) % M)) % M;
  return `${g.nodes.length}.${g.edges.length}.${n}.${e}`;
}

function setText(el, text) {
  if (el && el.textContent !== text) el.textContent = text;
}

function recolour(section, g) {
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  for (const a of $$(".wf-node", section)) {
    const t = byId.get(Number(a.dataset.id));
    if (!t) continue;
    if (a.dataset.status !== t.status) {
      a.classList.remove(`s-${a.dataset.status}`);
      a.classList.add(`s-${t.status}`);
      a.dataset.status = t.status;
    }
    const name = t.title || t.type;
    a.dataset.name = name;
    const parents = a.dataset.parents ? a.dataset.parents.split(" ") : [];
    const current = a.classList.contains("current");
    const label = nodeLabel(t, name, parents, current, false);
    if (a.getAttribute("aria-label") !== label) a.setAttribute("aria-label", label);
    setText(a.querySelector("title"), nodeLabel(t, name, parents, current, true));
    setText(a.querySelector(".wf-name"), nameLine(t.id, name));
    setText(a.querySelector(".wf-status"), statusLine(t));
    const bar = a.querySelector(".wf-bar");
    if (bar && bar.getAttribute("width") !== String(barWidth(t))) bar.setAttribute("width", String(barWidth(t)));
  }
  for (const p of $$(".wf-edge", section)) {
    p.classList.toggle("met", byId.get(Number(p.dataset.from))?.status === "completed");
  }
}

/** Scrolls a large graph's box (not the page) so this task's node is in view. */
function showCurrent() {
  const box = $("#workflow .wf-node.current .wf-box");
  const scroller = $("#workflow .wf-scroll");
  if (!box || !scroller) return;
  const x = Number(box.getAttribute("x"));
  const y = Number(box.getAttribute("y"));
  const w = Number(box.getAttribute("width"));
  const h = Number(box.getAttribute("height"));
  if (y < scroller.scrollTop || y + h > scroller.scrollTop + scroller.clientHeight) scroller.scrollTop = y + h / 2 - scroller.clientHeight / 2;
  if (x < scroller.scrollLeft || x + w > scroller.scrollLeft + scroller.clientWidth) scroller.scrollLeft = x + w / 2 - scroller.clientWidth / 2;
}

/** Re-reads the page and swaps in its graph (laid out by the server); keeps keyboard focus on the same task. */
async function relayout() {
  const res = await fetch(location.href, { credentials: "same-origin", headers: { accept: "text/html" } });
  if (!res.ok) return;
  const doc = new DOMParser().parseFromString(await res.text(), "text/html");
  const fresh = doc.getElementById("workflow-slot");
  const slot = $("#workflow-slot");
  if (!fresh || !slot) return;
  const focused = document.activeElement?.closest?.(".wf-node")?.dataset.id;
  slot.replaceWith(fresh);
  showCurrent();
  if (focused) $(`.wf-node[data-id="${CSS.escape(focused)}"]`)?.focus();
}

async function update() {
  busy = true;
  lastAt = Date.now();
  const t0 = performance.now();
  try {
    const section = $("#workflow");
    if (needLayout || !section) {
      needLayout = false;
      await relayout();
      return;
    }
    const res = await fetch(`/api/tasks/${encodeURIComponent(section.dataset.taskId)}/graph`, {
      credentials: "same-origin",
      headers: { accept: "application/json" },
    });
    if (!res.ok) return;
    const g = await res.json();
    if (shapeOf(g) !== section.dataset.shape) await relayout();
    else recolour(section, g);
  } catch {
    // offline for a moment: the next change tries again
  } finally {
    busy = false;
    lastCostMs = performance.now() - t0;
  }
}

function schedule() {
  if (document.hidden) {
    dirty = true;
    return;
  }
  if (timer) return;
  const gap = Math.max(MIN_GAP_MS, lastCostMs * 10);
  const wait = Math.max(SETTLE_MS, lastAt + gap - Date.now());
  timer = setTimeout(() => {
    timer = null;
    if (busy) schedule();
    else update();
  }, wait);
}

export function initGraph() {
  if (page !== "task") return;
  showCurrent();
  document.addEventListener("baton:tasks", () => {
    if ($("#workflow")) schedule();
  });
  // A live re-render shows the task's own dependencies: a new or removed one changes the graph
  // (or makes one appear).
  document.addEventListener("baton:refreshed", () => {
    const links = $("#live-task")?.dataset.links;
    const slot = $("#workflow-slot");
    if (links !== undefined && slot && slot.dataset.links !== links) {
      needLayout = true;
      schedule();
    }
  });
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && dirty) {
      dirty = false;
      schedule();
    }
  });
}
