// Schedules: pause / resume / run now buttons, and the create form, whose trigger the server
// validates and previews (next 5 runs) while it is typed.
import { $, $$, api, problemText, toast } from "./dom.js";
import { clearErrors, fieldFor, fieldsOf, setFieldError, showProblem } from "./forms.js";
import { refresh } from "./live.js";

const SCHEDULE_FIELDS = {
  name: "s-name",
  type: "s-type",
  title: "s-title",
  payload: "s-payload",
  "trigger.expression": "s-expression",
  "trigger.timezone": "s-timezone",
  "trigger.seconds": "s-seconds",
  "trigger.at": "s-at",
  maxAttempts: "s-maxAttempts",
  deactivateAfterFailures: "s-deactivate",
  overlap: "s-overlap",
  catchUp: "s-catchUp",
};
/** Typing pause before the trigger is sent for a preview. */
const PREVIEW_DELAY_MS = 250;

async function onScheduleAction(e) {
  const btn = e.target.closest("button[data-schedule-action]");
  if (!btn) return;
  const { scheduleAction, id } = btn.dataset;
  btn.disabled = true;
  const r = await api("POST", `/api/schedules/${id}/${scheduleAction}`);
  btn.disabled = false;
  const verbs = { pause: "paused", resume: "resumed", trigger: "triggered" };
  toast(r.ok ? `Schedule ${id} ${verbs[scheduleAction]}.` : `Schedule ${id}: ${problemText(r)}`, r.ok ? "ok" : "error");
  refresh();
}

function scheduleKind(form) {
  return form.querySelector("input[name='kind']:checked")?.value || "cron";
}

function triggerOf(form) {
  const f = fieldsOf(form);
  const kind = scheduleKind(form);
  if (kind === "interval") return { kind, seconds: Number(f.seconds.value) };
  if (kind === "once") return { kind, at: f.at.value.trim() };
  return { kind, expression: f.expression.value.trim(), timezone: f.timezone.value.trim() || "UTC" };
}

function showKind(form) {
  const kind = scheduleKind(form);
  for (const g of $$("[data-kind]", form)) g.hidden = g.dataset.kind !== kind;
}

function listItem(child) {
  const li = document.createElement("li");
  li.append(child);
  return li;
}

let previewTimer = null;
let previewSeq = 0;
async function preview(form) {
  const seq = ++previewSeq;
  const r = await api("POST", form.dataset.previewUrl, { trigger: triggerOf(form), count: 5 });
  if (seq !== previewSeq) return; // a newer preview is on its way
  for (const id of ["s-expression", "s-timezone", "s-seconds", "s-at"]) setFieldError(form, id, "");
  const list = $("#preview-runs", form);
  list.textContent = "";
  if (r.ok) {
    if (!r.data.nextRuns.length) list.append(listItem("no future run"));
    for (const iso of r.data.nextRuns) {
      const time = document.createElement("time");
      time.setAttribute("datetime", iso);
      time.textContent = new Date(iso).toLocaleString(undefined, { dateStyle: "full", timeStyle: "long" });
      list.append(listItem(time));
    }
    form.dataset.previewState = "ok";
  } else {
    for (const err of r.data?.errors || [{ field: "trigger.expression", message: problemText(r) }]) {
      setFieldError(form, fieldFor(SCHEDULE_FIELDS, err.field) || "s-expression", err.message);
    }
    list.append(listItem("none until the trigger is valid"));
    form.dataset.previewState = "error";
  }
}

async function submitSchedule(form) {
  clearErrors(form);
  const f = fieldsOf(form);
  let payload;
  try {
    payload = JSON.parse(f.payload.value || "{}");
  } catch (err) {
    setFieldError(form, "s-payload", `not valid JSON: ${err.message}`);
    f.payload.focus();
    return;
  }
  const body = {
    name: f.name.value.trim(),
    type: f.type.value,
    payload,
    trigger: triggerOf(form),
    maxAttempts: Number(f.maxAttempts.value || 1),
    overlap: f.overlap.value,
    catchUp: f.catchUp.value,
  };
  if (f.title.value.trim()) body.title = f.title.value.trim();
  if (f.deactivateAfterFailures.value) body.deactivateAfterFailures = Number(f.deactivateAfterFailures.value);
  const submit = form.querySelector("button[type='submit']");
  submit.disabled = true;
  const r = await api("POST", "/api/schedules", body);
  submit.disabled = false;
  if (r.ok) {
    toast(`Schedule ${r.data.name} created.`, "ok");
    f.name.value = "";
    refresh();
    return;
  }
  showProblem(form, SCHEDULE_FIELDS, r);
}

export function initSchedules() {
  document.addEventListener("click", onScheduleAction);
  const form = $("#schedule-form");
  if (!form) return;
  showKind(form);
  const later = () => {
    clearTimeout(previewTimer);
    form.dataset.previewState = "pending";
    previewTimer = setTimeout(() => preview(form), PREVIEW_DELAY_MS);
  };
  form.addEventListener("input", (e) => {
    if (["expression", "timezone", "seconds", "at"].includes(e.target.name)) later();
  });
  form.addEventListener("change", (e) => {
    if (e.target.name === "kind") {
      showKind(form);
      later();
    }
  });
  preview(form);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    submitSchedule(form);
  });
}
