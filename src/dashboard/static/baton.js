// baton dashboard: live updates over Server-Sent Events and page actions through the JSON API.
// Served from the same origin as the pages (script-src 'self'); no inline code, no libraries.
// Every request carries the session cookie (credentials: "same-origin"). Loaded as a module
// (strict, deferred).
(() => {

  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  const page = document.body.dataset.page || "";

  // ------------------------------------------------------------------ messages
  let toastTimer = null;
  function toast(text, kind) {
    const el = $("#toast");
    if (!el) return;
    el.textContent = text;
    el.dataset.kind = kind || "info";
    el.classList.add("show");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => el.classList.remove("show"), 6000);
  }

  async function api(method, path, body) {
    const init = { method, credentials: "same-origin", headers: { accept: "application/json" } };
    if (body !== undefined) {
      init.headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const res = await fetch(path, init);
    const text = await res.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = { detail: text };
    }
    return { ok: res.ok, status: res.status, data };
  }

  function problemText(r) {
    if (r.status === 401) return "Not signed in (401): sign in again at /login.";
    const d = r.data || {};
    return d.detail || d.title || `HTTP ${r.status}`;
  }

  // ------------------------------------------------------------------ times
  const loadedAt = Date.now();
  function fmtDuration(ms) {
    if (ms < 1000) return `${Math.round(ms)} ms`;
    if (ms < 60000) return `${(ms / 1000).toFixed(ms < 10000 ? 1 : 0)} s`;
    if (ms < 3600000) return `${Math.floor(ms / 60000)} min ${Math.floor((ms % 60000) / 1000)} s`;
    if (ms < 86400000) return `${Math.floor(ms / 3600000)} h ${Math.floor((ms % 3600000) / 60000)} min`;
    return `${Math.floor(ms / 86400000)} d ${Math.floor((ms % 86400000) / 3600000)} h`;
  }
  function localiseTimes(root) {
    for (const t of $$("time[data-local='time']", root)) {
      const d = new Date(t.getAttribute("datetime"));
      if (!Number.isNaN(+d)) {
        t.textContent = d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
        t.title = d.toISOString();
      }
    }
  }
  function tickAges() {
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

  // ------------------------------------------------------------------ live regions
  // Elements with data-live and an id are re-rendered by fetching this same page again and
  // swapping them in; forms and focus outside them are left alone. Checked boxes survive.
  // The overview's counters update from the event itself; its tables (throughput, per-type
  // statistics, instances) are re-read at most every 5 s. Lists that count their totals every 2 s.
  const REFRESH_GAP_MS = { overview: 5000, tasks: 2000, task: 1000, schedules: 1000, settings: 2000, "task-types": 5000 };
  let refreshTimer = null;
  let lastRefresh = 0;
  let refreshing = false;

  function scheduleRefresh() {
    if (!$("[data-live]")) return;
    if (refreshTimer) return;
    const gap = REFRESH_GAP_MS[page] ?? 2000;
    const wait = Math.max(50, lastRefresh + gap - Date.now());
    refreshTimer = setTimeout(() => {
      refreshTimer = null;
      refresh();
    }, wait);
  }

  async function refresh() {
    if (refreshing) {
      scheduleRefresh();
      return;
    }
    refreshing = true;
    lastRefresh = Date.now();
    try {
      const res = await fetch(location.href, { credentials: "same-origin", headers: { accept: "text/html" } });
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
      updateSelection();
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

  // ------------------------------------------------------------------ SSE
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

  function connect() {
    if (!window.EventSource) {
      setLive("off", "no live updates in this browser");
      return;
    }
    const es = new EventSource("/events");
    es.addEventListener("open", () => setLive("live", "live"));
    es.addEventListener("error", () => setLive("reconnecting", "reconnecting…"));
    es.addEventListener("hello", (e) => {
      setLive("live", "live");
      applyCounts(JSON.parse(e.data).counts);
    });
    es.addEventListener("tasks", (e) => {
      applyCounts(JSON.parse(e.data).counts);
      if (page === "overview" || page === "tasks" || page === "task" || page === "settings" || page === "task-types") scheduleRefresh();
    });
    es.addEventListener("schedules", () => {
      if (page === "schedules" || page === "overview") scheduleRefresh();
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

  // ------------------------------------------------------------------ task actions
  const ACTIONS = {
    cancel: { method: "POST", path: (id) => `/api/tasks/${id}/cancel`, done: "canceled" },
    retry: { method: "POST", path: (id) => `/api/tasks/${id}/retry`, done: "queued again" },
    delete: { method: "DELETE", path: (id) => `/api/tasks/${id}`, done: "deleted" },
  };

  async function runAction(action, id) {
    const a = ACTIONS[action];
    const r = await api(a.method, a.path(id));
    return { id, ok: r.ok, message: r.ok ? "" : problemText(r) };
  }

  document.addEventListener("click", async (e) => {
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
  });

  // Bulk: the checked rows of the tasks table, a few requests at a time.
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
  document.addEventListener("change", (e) => {
    if (e.target.matches("[data-select-all]")) {
      for (const i of $$("input[name='id']")) i.checked = e.target.checked;
    }
    if (e.target.matches("[data-select-all], input[name='id']")) updateSelection();
  });

  document.addEventListener("click", async (e) => {
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
    await Promise.all(Array.from({ length: Math.min(6, ids.length) }, worker));
    btn.disabled = false;
    const ok = results.filter((r) => r.ok).length;
    const failed = results.filter((r) => !r.ok);
    const detail = failed.length ? ` ${failed.length} not: ${failed.slice(0, 3).map((f) => `#${f.id} ${f.message}`).join("; ")}` : "";
    toast(`${ok} task(s) ${ACTIONS[action].done}.${detail}`, failed.length ? "warn" : "ok");
    for (const i of $$("input[name='id']")) if (results.some((r) => r.ok && r.id === i.value)) i.checked = false;
    updateSelection();
    refresh();
  });

  // ------------------------------------------------------------------ schedules
  document.addEventListener("click", async (e) => {
    const btn = e.target.closest("button[data-schedule-action]");
    if (!btn) return;
    const { scheduleAction, id } = btn.dataset;
    btn.disabled = true;
    const r = await api("POST", `/api/schedules/${id}/${scheduleAction}`);
    btn.disabled = false;
    const verbs = { pause: "paused", resume: "resumed", trigger: "triggered" };
    toast(r.ok ? `Schedule ${id} ${verbs[scheduleAction]}.` : `Schedule ${id}: ${problemText(r)}`, r.ok ? "ok" : "error");
    refresh();
  });

  function setFieldError(form, inputId, message) {
    const p = form.querySelector(`[data-error-for="${inputId}"]`);
    const input = form.querySelector(`#${CSS.escape(inputId)}`);
    if (p) {
      p.textContent = message || "";
      p.hidden = !message;
    }
    if (input) {
      if (message) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    }
  }
  function clearErrors(form) {
    for (const p of $$("[data-error-for]", form)) setFieldError(form, p.dataset.errorFor, "");
    const top = $(".form-error", form);
    if (top) {
      top.hidden = true;
      top.textContent = "";
    }
  }
  function formError(form, message) {
    const top = $(".form-error", form);
    if (top) {
      top.textContent = message;
      top.hidden = !message;
    }
  }

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
  function fieldFor(map, field) {
    if (map[field]) return map[field];
    const hit = Object.keys(map)
      .filter((k) => field.startsWith(`${k}.`))
      .sort((a, b) => b.length - a.length)[0];
    if (hit) return map[hit];
    if (field.startsWith("trigger")) return map["trigger.expression"];
    return null;
  }

  function scheduleKind(form) {
    return form.querySelector("input[name='kind']:checked")?.value || "cron";
  }
  // form.elements.namedItem: plain property access would collide with names like "name" or "type".
  const fieldsOf = (form) => new Proxy({}, { get: (_, n) => form.elements.namedItem(n) });

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
      if (!r.data.nextRuns.length) {
        const li = document.createElement("li");
        li.textContent = "no future run";
        list.append(li);
      }
      for (const iso of r.data.nextRuns) {
        const li = document.createElement("li");
        const time = document.createElement("time");
        time.setAttribute("datetime", iso);
        time.textContent = new Date(iso).toLocaleString(undefined, { dateStyle: "full", timeStyle: "long" });
        li.append(time);
        list.append(li);
      }
      form.dataset.previewState = "ok";
    } else {
      for (const err of (r.data?.errors) || [{ field: "trigger.expression", message: problemText(r) }]) {
        setFieldError(form, fieldFor(SCHEDULE_FIELDS, err.field) || "s-expression", err.message);
      }
      const li = document.createElement("li");
      li.textContent = "none until the trigger is valid";
      list.append(li);
      form.dataset.previewState = "error";
    }
  }

  function initScheduleForm() {
    const form = $("#schedule-form");
    if (!form) return;
    showKind(form);
    const later = () => {
      clearTimeout(previewTimer);
      form.dataset.previewState = "pending";
      previewTimer = setTimeout(() => preview(form), 250);
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
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
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
      const errors = (r.data?.errors) || [];
      let first = null;
      for (const err of errors) {
        const id = fieldFor(SCHEDULE_FIELDS, err.field);
        if (id) {
          setFieldError(form, id, err.message);
          first = first || id;
        }
      }
      formError(form, problemText(r));
      if (first) form.querySelector(`#${first}`).focus();
    });
  }

  // ------------------------------------------------------------------ settings
  const NOTIFY_FIELDS = { webhookUrl: "n-url", maxAttempts: "n-attempts", backoffBaseMs: "n-backoff" };
  function initSettingsForm() {
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
      let first = null;
      for (const err of (r.data?.errors) || []) {
        const id = fieldFor(NOTIFY_FIELDS, err.field);
        if (id) {
          setFieldError(form, id, err.message);
          first = first || id;
        }
      }
      formError(form, problemText(r));
      if (first) form.querySelector(`#${first}`).focus();
    });
    const test = $("#notify-test");
    test?.addEventListener("click", async () => {
      const r = await api("POST", "/api/settings/notifications/test");
      toast(r.ok ? `Test message queued (task ${r.data.taskId}).` : problemText(r), r.ok ? "ok" : "error");
      if (r.ok) refresh();
    });
  }

  // ------------------------------------------------------------------ start
  localiseTimes(document);
  tickAges();
  setInterval(tickAges, 1000);
  updateSelection();
  initScheduleForm();
  initSettingsForm();
  connect();
  // Heartbeats are not change events: pages that show instances refresh on a slow timer too.
  if (page === "overview" || page === "instances") {
    setInterval(() => {
      if (document.visibilityState === "visible") scheduleRefresh();
    }, 5000);
  }
})();
