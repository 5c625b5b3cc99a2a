// Form helpers shared by the schedule and settings forms: field errors from problem+json.
import { $, $$, problemText } from "./dom.js";

export function setFieldError(form, inputId, message) {
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

export function clearErrors(form) {
  for (const p of $$("[data-error-for]", form)) setFieldError(form, p.dataset.errorFor, "");
  const top = $(".form-error", form);
  if (top) {
    top.hidden = true;
    top.textContent = "";
  }
}

export function formError(form, message) {
  const top = $(".form-error", form);
  if (top) {
    top.textContent = message;
    top.hidden = !message;
  }
}

/** The input id for an API error field ("trigger.expression"), by exact name or longest prefix. */
export function fieldFor(map, field) {
  if (map[field]) return map[field];
  const hit = Object.keys(map)
    .filter((k) => field.startsWith(`${k}.`))
    .sort((a, b) => b.length - a.length)[0];
  if (hit) return map[hit];
  if (field.startsWith("trigger")) return map["trigger.expression"];
  return null;
}

/** Marks the fields the API named, shows its message on top, and focuses the first field. */
export function showProblem(form, map, r) {
  let first = null;
  for (const err of r.data?.errors || []) {
    const id = fieldFor(map, err.field);
    if (id) {
      setFieldError(form, id, err.message);
      first = first || id;
    }
  }
  formError(form, problemText(r));
  if (first) form.querySelector(`#${first}`).focus();
}

// form.elements.namedItem: plain property access would collide with names like "name" or "type".
export const fieldsOf = (form) => new Proxy({}, { get: (_, n) => form.elements.namedItem(n) });
