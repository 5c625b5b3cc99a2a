/** JSON helpers with no I/O. */

/**
 * Postgres rejects U+0000 in text and jsonb. Values produced by handlers (results, error text) are
 * scrubbed before storage so that one odd result cannot fail a batch; input from clients is
 * rejected with a 400 instead (see the API's validation).
 */
export function scrubNul(v: unknown): unknown {
  if (typeof v === "string") return v.includes("\u0000") ? v.replaceAll("\u0000", "\uFFFD") : v;
  if (Array.isArray(v)) return v.map(scrubNul);
  if (v && typeof v === "object") {
    if (v instanceof Date) return v.toISOString();
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[scrubNul(k) as string] = scrubNul(x);
    return out;
  }
  return v;
}

/** True when a string anywhere in the value (keys included) holds U+0000. */
export function containsNul(v: unknown): boolean {
  if (typeof v === "string") return v.includes("\u0000");
  if (Array.isArray(v)) return v.some(containsNul);
  if (v && typeof v === "object") return Object.entries(v).some(([k, x]) => k.includes("\u0000") || containsNul(x));
  return false;
}

/** Nesting depth of a JSON value (a scalar is 0). */
export function jsonDepth(v: unknown, limit = 1000): number {
  if (!v || typeof v !== "object") return 0;
  let max = 0;
  for (const x of Object.values(v)) {
    const d = jsonDepth(x, limit - 1);
    if (d > max) max = d;
    if (max >= limit) break;
  }
  return max + 1;
}
