// Task actions: cancel, retry and delete from a row or the detail page, and bulk actions on the
// checked rows of the tasks table, a few requests at a time.
import { $, $$, api, page, problemText, toast } from "./dom.js";
import { refresh } from "./live.js";

const ACTIONS = {
  cancel: { method: "POST", path: (id) => `/api/tasks/${id}/cancel`, done: "canceled" },
  retry: { method: "POST", path: (id) => `/api/tasks/${id}/retry`, done: "queued again" },
  delete: { method: "DELETE", path: (id) => `/api/tasks/${id}`, done: "deleted" },
};
/** Bulk requests in flight at once. */
const BULK_PARALLEL = 6;

async function runAction(action, id) {
  const a = ACTIONS[action];
  const r = await api(a.method, a.path(id));
  return { id, ok: r.ok, message: r.ok ? "" : problemText(r) };
}

function selectedIds() {
  return $$("input[name='id']:checked").map((i) => i.value);
}

function updateSelection() {
  const n = selectedIds().length;
  const el = $("#selected-count");
  if (el) el.textContent = `${n} selected`;
  const all = $("[data-select-all]");
  const boxes = $$("input[name='id']");
  if (all) {
    all.checked = boxes.length > 0 && n === boxes.length;
    all.indeterminate = n > 0 && n < boxes.length;
  }
}

async function onRowAction(e) {
  const btn = e.target.closest("button[data-action]");
  if (!btn) return;
  const { action, id } = btn.dataset;
  if (action === "delete" && !window.confirm(`Delete task ${id} with its conversations and logs?`)) return;
  btn.disabled = true;
  const r = await runAction(action, id);
  btn.disabled = false;
  if (!r.ok) {
    toast(`Task ${id}: ${r.message}`, "error");
    return;
  }
  toast(`Task ${id} ${ACTIONS[action].done}.`, "ok");
  if (action === "delete" && page === "task") {
    location.assign("/tasks");
    return;
  }
  refresh();
}

async function onBulkAction(e) {
  const btn = e.target.closest("button[data-bulk]");
  if (!btn) return;
  const action = btn.dataset.bulk;
  const ids = selectedIds();
  if (ids.length === 0) {
    toast("Select tasks first (the checkboxes in the first column).", "warn");
    return;
  }
  if (action === "delete" && !window.confirm(`Delete ${ids.length} task(s) with their conversations and logs?`)) return;
  btn.disabled = true;
  const results = [];
  const queue = ids.slice();
  const worker = async () => {
    while (queue.length) results.push(await runAction(action, queue.shift()));
  };
  await Promise.all(Array.from({ length: Math.min(BULK_PARALLEL, ids.length) }, worker));
  btn.disabled = false;
  const ok = results.filter((r) => r.ok).length;
  const failed = results.filter((r) => !r.ok);
  const detail = failed.length ? ` ${failed.length} not: ${failed.slice(0, 3).map((f) => `#${f.id} ${f.message}`).join("; ")}` : "";
  toast(`${ok} task(s) ${ACTIONS[action].done}.${detail}`, failed.length ? "warn" : "ok");
  for (const i of $$("input[name='id']")) if (results.some((r) => r.ok && r.id === i.value)) i.checked = false;
  updateSelection();
  refresh();
}

export function initTasks() {
  document.addEventListener("click", onRowAction);
  document.addEventListener("click", onBulkAction);
  document.addEventListener("change", (e) => {
    if (e.target.matches("[data-select-all]")) {
      for (const i of $$("input[name='id']")) i.checked = e.target.checked;
    }
    if (e.target.matches("[data-select-all], input[name='id']")) updateSelection();
  });
  // A live swap brings new rows (and keeps the checked ones): count again.
  document.addEventListener("baton:refreshed", updateSelection);
  updateSelection();
}
