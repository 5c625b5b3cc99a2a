// Settings: the notifications form and its test button.
import { $, api, problemText, toast } from "./dom.js";
import { clearErrors, fieldsOf, showProblem } from "./forms.js";
import { refresh } from "./live.js";

const NOTIFY_FIELDS = { webhookUrl: "n-url", maxAttempts: "n-attempts", backoffBaseMs: "n-backoff" };

export function initSettings() {
  const form = $("#notify-form");
  if (!form) return;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    const f = fieldsOf(form);
    const body = {
      enabled: f.enabled.checked,
      webhookUrl: f.webhookUrl.value.trim() || null,
      format: f.format.value,
      events: { taskFailed: f.taskFailed.checked, scheduleDeactivated: f.scheduleDeactivated.checked, taskCompleted: f.taskCompleted.checked },
      maxAttempts: Number(f.maxAttempts.value),
      backoffBaseMs: Number(f.backoffBaseMs.value),
    };
    const r = await api("PUT", "/api/settings/notifications", body);
    if (r.ok) {
      toast(r.data.enabled ? "Saved: notifications are on." : "Saved: notifications are off.", "ok");
      return;
    }
    showProblem(form, NOTIFY_FIELDS, r);
  });
  $("#notify-test")?.addEventListener("click", async () => {
    const r = await api("POST", "/api/settings/notifications/test");
    toast(r.ok ? `Test message queued (task ${r.data.taskId}).` : problemText(r), r.ok ? "ok" : "error");
    if (r.ok) refresh();
  });
}
