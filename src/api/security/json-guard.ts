/// <reference lib="es2024.string" />
/**
 * Request bodies are inspected as raw text before any route parses them. JSON.parse is lenient in
 * ways that matter to a service that stores what it is given, so a body is refused (400) when:
 * - an object repeats a key (JSON.parse silently keeps the last one: {"a":1,"a":2});
 * - a string, or a key, holds U+0000 (Postgres cannot store it in text or jsonb);
 * - a string holds a lone UTF-16 surrogate ("\ud800": it cannot be encoded as UTF-8 and would be
 *   stored silently changed to U+FFFD);
 * - an integer literal lies beyond ±(2^53 − 1) (JavaScript would round it silently; a 64-bit id
 *   belongs in a string) or a number overflows to Infinity (1e400 would be stored as null);
 * - nesting goes deeper than MAX_JSON_DEPTH (64) levels;
 * - the bytes are not valid UTF-8.
 * It also answers 415 for a non-empty body that is not JSON (media type exactly
 * application/json or application/*+json, the rule the route validators use) and 400 for a missing
 * body where the operation declares a required one.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { FieldError } from "../../domain/errors.js";
import { WRITE_METHODS } from "../body.js";
import type { AppEnv } from "../deps.js";
import { problem } from "../problem.js";

export const MAX_JSON_DEPTH = 64;

interface Frame {
  object: boolean;
  keys: Set<string> | null;
  expectKey: boolean;
  key: string;
  index: number;
}

/** Dotted field path of the first `upTo` frames' positions ("(body)" for the root). */
function fieldOf(stack: Frame[], upTo = stack.length): string {
  return (
    stack
      .slice(0, upTo)
      .map((f) => (f.object ? f.key : String(f.index)))
      .join(".") || "(body)"
  );
}

/**
 * Scans JSON text without building it and returns the first problem found, or null. Text that is
 * not well-formed JSON also returns null: the route's parser reports that (400, malformed JSON).
 */
export function inspectJson(text: string, maxDepth = MAX_JSON_DEPTH): FieldError | null {
  const stack: Frame[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const ch = text.charCodeAt(i);
    // whitespace
    if (ch === 0x20 || ch === 0x0a || ch === 0x0d || ch === 0x09) {
      i++;
      continue;
    }
    const top = stack[stack.length - 1];
    if (ch === 0x7b /* { */ || ch === 0x5b /* [ */) {
      const object = ch === 0x7b;
      stack.push({ object, keys: object ? new Set() : null, expectKey: object, key: "", index: 0 });
      if (stack.length > maxDepth) return { field: fieldOf(stack, stack.length - 1), message: `JSON nested deeper than ${maxDepth} levels` };
      i++;
      continue;
    }
    if (ch === 0x7d /* } */ || ch === 0x5d /* ] */) {
      stack.pop();
      i++;
      continue;
    }
    if (ch === 0x2c /* , */) {
      if (top) {
        if (top.object) top.expectKey = true;
        else top.index++;
      }
      i++;
      continue;
    }
    if (ch === 0x3a /* : */) {
      i++;
      continue;
    }
    if (ch === 0x22 /* " */) {
      // Find the closing quote: one preceded by an even number of backslashes.
      let end = -1;
      let from = i + 1;
      for (;;) {
        const q = text.indexOf('"', from);
        if (q < 0) return null;
        let b = q - 1;
        let slashes = 0;
        while (b > i && text.charCodeAt(b) === 0x5c) {
          slashes++;
          b--;
        }
        if (slashes % 2 === 0) {
          end = q;
          break;
        }
        from = q + 1;
      }
      const raw = text.slice(i + 1, end);
      const isKey = top?.object === true && top.expectKey;
      let value = raw;
      // Only \u escapes can produce NUL or a surrogate; keys are decoded to compare them.
      if (raw.includes("\\") && (isKey || raw.includes("\\u"))) {
        try {
          value = JSON.parse(text.slice(i, end + 1)) as string;
        } catch {
          return null;
        }
      }
      const field = () => (isKey ? [fieldOf(stack, stack.length - 1), value.slice(0, 100)].filter((x) => x !== "(body)").join(".") : fieldOf(stack));
      const what = isKey ? "key" : "string";
      if (value.includes("\u0000")) return { field: field(), message: `${what} contains U+0000 (NUL), which cannot be stored` };
      if (!value.isWellFormed()) return { field: field(), message: `${what} contains a lone UTF-16 surrogate (not valid Unicode)` };
      if (isKey && top) {
        if (top.keys?.has(value)) return { field: field(), message: `duplicate key "${value.slice(0, 100)}" (JSON.parse would keep only the last)` };
        top.keys?.add(value);
        top.expectKey = false;
        top.key = value;
      }
      i = end + 1;
      continue;
    }
    if (ch === 0x2d /* - */ || (ch >= 0x30 && ch <= 0x39)) {
      let j = i + 1;
      let integer = true;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d >= 0x30 && d <= 0x39) j++;
        else if (d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d) {
          integer = false;
          j++;
        } else break;
      }
      const token = text.slice(i, j);
      const num = Number(token);
      if (!Number.isFinite(num) && !Number.isNaN(num)) {
        return { field: fieldOf(stack), message: `number ${token.slice(0, 40)} is out of range` };
      }
      if (integer && token.length > 15 && !Number.isSafeInteger(num)) {
        return {
          field: fieldOf(stack),
          message: `integer ${token.slice(0, 40)} is beyond ±(2^53 - 1) and cannot be represented exactly; send it as a string`,
        };
      }
      i = j;
      continue;
    }
    // true / false / null (or garbage, which the parser reports)
    if (ch >= 0x61 && ch <= 0x7a) {
      let j = i + 1;
      while (j < n && text.charCodeAt(j) >= 0x61 && text.charCodeAt(j) <= 0x7a) j++;
      i = j;
      continue;
    }
    return null;
  }
  return null;
}

/** Exact JSON media types, as the route validators test them (hono's validator). */
const JSON_MEDIA = /^application\/([\w.-]+\+)?json$/;

interface Operation {
  method: string;
  pattern: RegExp;
  bodyRequired: boolean;
}

/** Operations from the OpenAPI registry (read once, on the first request: all routes exist then). */
function operations(app: OpenAPIHono<AppEnv>): Operation[] {
  const ops: Operation[] = [];
  for (const d of app.openAPIRegistry.definitions) {
    if (d.type !== "route") continue;
    const r = d.route as { method: string; path: string; request?: { body?: { required?: boolean } } };
    const pattern = new RegExp(
      `^${r.path
        .split("/")
        .map((seg) => (/^\{[^}]+\}$/.test(seg) ? "[^/]+" : seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
        .join("/")}$`,
    );
    ops.push({ method: r.method.toUpperCase(), pattern, bodyRequired: r.request?.body?.required === true });
  }
  return ops;
}

function bad(c: Context, e: FieldError, status = 400): Response {
  return problem(c, status, `${e.field}: ${e.message}`, { errors: [e] });
}

/** The body guard for /api/* writes (registered after auth, before the routes). */
export function jsonGuard() {
  return (app: OpenAPIHono<AppEnv>) => {
    let ops: Operation[] | null = null;
    app.use("/api/*", async (c, next) => {
      const method = c.req.method;
      if (!WRITE_METHODS.has(method)) return next();
      ops ??= operations(app);
      const op = ops.find((o) => o.method === method && o.pattern.test(c.req.path));
      // bodyReader (app.ts) has read the body into Hono's body cache and bounded its size,
      // chunked bodies included.
      const bytes = new Uint8Array(await c.req.arrayBuffer());
      if (bytes.byteLength === 0) {
        if (op?.bodyRequired) return bad(c, { field: "(body)", message: "a JSON request body is required" });
        return next();
      }
      const mediaType = (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
      if (!JSON_MEDIA.test(mediaType)) return problem(c, 415, "content-type must be application/json");
      let text: string;
      try {
        text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
      } catch {
        return bad(c, { field: "(body)", message: "request body is not valid UTF-8" });
      }
      // Later readers (the route's validator) get the text already decoded.
      (c.req.bodyCache as Record<string, unknown>).text = Promise.resolve(text);
      const found = inspectJson(text);
      if (found) return bad(c, found);
      return next();
    });
  };
}
