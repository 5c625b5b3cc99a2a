// Queues: pause / resume buttons (POST /api/queues/{name}/pause | resume).
import { api, problemText, toast } from "./dom.js";
import { refresh } from "./live.js";

async function onQueueAction(e) {
  const btn = e.target.closest("button[data-queue-action]");
  if (!btn) return;
  const { queueAction, id } = btn.dataset;
  btn.disabled = true;
  const r = await api("POST", `/api/queues/${encodeURIComponent(id)}/${queueAction}`);
  btn.disabled = false;
  toast(r.ok ? `Queue ${id} ${queueAction === "pause" ? "paused" : "resumed"}.` : `Queue ${id}: ${problemText(r)}`, r.ok ? "ok" : "error");
  refresh();
}

export function initQueues() {
  document.addEventListener("click", onQueueAction);
}
