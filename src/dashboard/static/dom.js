// Shared page helpers: element lookup, the toast, and JSON API calls with the session cookie.

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
/** Which page this is (data-page on <body>): overview, tasks, task, schedules, ... */
export const page = document.body.dataset.page || "";

let toastTimer = null;
export function toast(text, kind) {
  const el = $("#toast");
  if (!el) return;
  el.textContent = text;
  el.dataset.kind = kind || "info";
  el.classList.add("show");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove("show"), 6000);
}

/** A JSON API call: { ok, status, data } whatever the outcome (problem+json lands in data). */
export async function api(method, path, body) {
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

export function problemText(r) {
  if (r.status === 401) return "Not signed in (401): sign in again at /login.";
  const d = r.data || {};
  return d.detail || d.title || `HTTP ${r.status}`;
}
