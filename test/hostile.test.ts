/**
 * Hostile input against every write endpoint and every list filter, discovered from
 * /openapi.json (so routes added later are covered). Every hostile request must get a 4xx
 * problem+json without a stack trace or SQL text, leave the database unchanged (row counts and an
 * md5 checksum of every baton table and of graphile-worker's jobs), and leave the service up.
 *
 * What is rejected (4xx) and what is accepted by design:
 * - Rejected, each with its exact status: 415 for a wrong or missing content type, 404 for a
 *   well-formed id that does not exist, 409 for a duplicate schedule name, 400 for the rest:
 *   U+0000 in any string or key; lone UTF-16 surrogates; nesting beyond 64 levels (and
 *   payloads beyond 32); integers beyond ±(2^53-1) (so everything beyond 2^63) and 1e400;
 *   negative, zero, non-decimal and oversized ids; strings over their maximum length; a wrong or
 *   missing content type; an empty or malformed body; duplicate JSON keys; unknown fields
 *   (__proto__ included); SQL text where a number, enum or known name is expected.
 * - Accepted by design (2xx), checked separately below: SQL-injection text and unicode edge cases
 *   (RTL override, emoji, combining marks, zero-width joiners, long valid strings) in free-text
 *   fields are stored byte for byte, and in free-text filters are matched literally; nothing else
 *   in the database changes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Service } from "../src/service.js";
import { createTestDb, type TestDb } from "./helpers/db.js";
import { startTestService } from "./helpers/service.js";

let tdb: TestDb;
let svc: Service;
const fixtures: Record<string, number> = {};

// ------------------------------------------------------------------ helpers

interface Reply {
  status: number;
  text: string;
  contentType: string;
}

async function send(method: string, path: string, body?: string, contentType: string | null = "application/json"): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (body !== undefined && contentType !== null) headers["content-type"] = contentType;
  const res = await fetch(svc.url + path, { method, headers, body });
  return { status: res.status, text: await res.text(), contentType: res.headers.get("content-type") ?? "" };
}

/** Signs of internals in a response: stack frames, file paths, Postgres or driver errors. */
const LEAKS = [
  /\n\s+at /,
  /node_modules/,
  /\/work\//,
  /\.ts:\d+/,
  /syntax error at or near/i,
  /violates .* constraint/i,
  /relation "/i,
  /SQLSTATE/i,
  /invalid input syntax/i,
  /PostgresError/,
  /kysely/i,
];

/** A problem+json answer with exactly the expected status (400 unless said) that leaks nothing. */
function expectRejected(r: Reply, what: string, status = 400) {
  expect(r.status, `${what} → ${r.status} ${r.text.slice(0, 300)}`).toBe(status);
  expect(r.contentType, what).toContain("application/problem+json");
  for (const re of LEAKS) expect(r.text, `${what}: response leaks ${re}`).not.toMatch(re);
}

const TABLES: [string, string][] = [
  ["baton.tasks", "id"],
  ["baton.conversations", "id"],
  ["baton.task_logs", "id"],
  ["baton.schedules", "id"],
  ["baton.settings", "key"],
  ["baton.idempotency_keys", "scope, key"],
  ["graphile_worker.jobs", "id"],
];

/** Row count and md5 of every row's text, per table. */
async function snapshot(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [t, order] of TABLES) {
    const [r] = await tdb.database.sql.unsafe(
      `select count(*)::int as n, md5(coalesce(string_agg(x::text, '|' order by ${order}), '')) as h from ${t} x`,
    );
    out[t] = `${r.n}:${r.h}`;
  }
  return out;
}

async function expectUp() {
  expect((await send("GET", "/health")).status).toBe(200);
  expect((await send("GET", "/ready")).status).toBe(200);
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Path = (string | number)[];

function nodes(v: Json, path: Path = []): { path: Path; value: Json }[] {
  const out = [{ path, value: v }];
  if (Array.isArray(v)) for (const [i, x] of v.entries()) out.push(...nodes(x, [...path, i]));
  else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) out.push(...nodes(x, [...path, k]));
  return out;
}

function setAt(v: Json, path: Path, value: Json): Json {
  if (!path.length) return value;
  const copy = structuredClone(v) as Record<string | number, Json>;
  let cur = copy;
  for (const p of path.slice(0, -1)) cur = cur[p] as Record<string | number, Json>;
  cur[path[path.length - 1]] = value;
  return copy as Json;
}

const deep = (n: number): Json => (n === 0 ? "bottom" : { d: deep(n - 1) });
const RAW = "__raw_number__";

/**
 * Hostile variants of a valid body. Each is [label, raw JSON text]. Inside `payload` (free-form
 * JSON) only the generic rules apply; lengths are bounded there by MAX_BODY_BYTES alone.
 */
function mutations(sample: Json): [string, string][] {
  const out: [string, string][] = [];
  const str = (v: Json) => JSON.stringify(v);
  for (const { path, value } of nodes(sample)) {
    const at = path.join(".") || "(body)";
    const inPayload = path.includes("payload") && path[path.length - 1] !== "payload";
    if (typeof value === "string") {
      out.push([`${at}: NUL in value`, str(setAt(sample, path, `${value}\u0000`))]);
      out.push([`${at}: NUL alone`, str(setAt(sample, path, "\u0000"))]);
      out.push([`${at}: lone high surrogate`, str(setAt(sample, path, `${value}\ud800`))]);
      out.push([`${at}: lone low surrogate`, str(setAt(sample, path, `\udc00${value}`))]);
      if (!inPayload) out.push([`${at}: 100,001 characters`, str(setAt(sample, path, "x".repeat(100_001)))]);
    }
    if (typeof value === "number") {
      for (const big of ["9223372036854775808", "-9223372036854775809", "18446744073709551616", "1e400", "-1e400"]) {
        out.push([`${at}: ${big}`, str(setAt(sample, path, RAW)).replace(`"${RAW}"`, big)]);
      }
    }
    if (path.length && path[0] !== "payload") out.push([`${at}: 100-deep object`, str(setAt(sample, path, deep(100)))]);
    if (path.length === 1 && path[0] === "payload") out.push([`${at}: 100-deep object`, str(setAt(sample, path, deep(100)))]);
  }
  if (sample && typeof sample === "object" && !Array.isArray(sample)) {
    const text = str(sample);
    const [firstKey, firstValue] = Object.entries(sample)[0];
    out.push(["duplicate top-level key", `${text.slice(0, -1)},${str(firstKey)}:${str(firstValue)}}`]);
    out.push(["duplicate key, escaped spelling", `${text.slice(0, -1)},"\\u${firstKey.charCodeAt(0).toString(16).padStart(4, "0")}${firstKey.slice(1)}":${str(firstValue)}}`]);
    out.push(["NUL in a key", str({ ...sample, "k\u0000": 1 })]);
    out.push(["__proto__ key", `${text.slice(0, -1)},"__proto__":{"admin":true}}`]);
    out.push(["constructor key", str({ ...sample, constructor: { prototype: { admin: true } } })]);
    out.push(["unknown field", str({ ...sample, unexpectedField: 1 })]);
    if ("payload" in sample) {
      out.push(["payload 40 levels deep", str({ ...sample, payload: { n: deep(40) } })]);
      out.push(["duplicate key inside payload", str({ ...sample, payload: RAW }).replace(`"${RAW}"`, '{"a":1,"a":2}')]);
      out.push(["NUL in a payload key", str({ ...sample, payload: { "a\u0000b": 1 } })]);
      out.push(["2^63 inside payload", `${str({ ...sample, payload: { n: RAW } })}`.replace(`"${RAW}"`, "9223372036854775808")]);
    }
  }
  out.push(["100-deep array body", `${"[".repeat(100)}${"]".repeat(100)}`]);
  out.push(["100,000-deep array body", `${"[".repeat(100_000)}${"]".repeat(100_000)}`]);
  out.push(["malformed JSON", "{\"a\":"]);
  out.push(["trailing garbage", `${str(sample)} x`]);
  out.push(["JSON null", "null"]);
  out.push(["JSON array", "[]"]);
  out.push(["JSON string", '"text"']);
  out.push(["JSON number 2^63", "9223372036854775808"]);
  return out;
}

/** Raw-body hostiles that every write endpoint rejects, whatever its schema (or lack of one). */
const GENERIC: [string, string][] = [
  ["duplicate keys", '{"a":1,"a":2}'],
  ["NUL in a key", '{"a\\u0000":1}'],
  ["NUL in a value", '{"a":"\\u0000"}'],
  ["lone surrogate", '{"a":"\\ud800"}'],
  ["100-deep JSON", JSON.stringify(deep(100))],
  ["integer 2^63", '{"a":9223372036854775808}'],
  ["1e400", '{"a":1e400}'],
];

const CONTENT_TYPES = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml", "application/json-seq", "application/jsonx", "text/json"];

/** Names (a queue's) are free text: only what no name may be is hostile. */
const HOSTILE_NAMES = ["%00", "a%00b", "x".repeat(201)];
/** The hostile values for a path template: names for {name}, ids for the rest. */
const hostileFor = (template: string) => (template.includes("{name}") ? HOSTILE_NAMES : HOSTILE_IDS);
const HOSTILE_IDS = ["0", "-1", "9223372036854775808", "99999999999999999999", "1.5", "1e3", "0x1", "abc", "01", "%201", "1%20OR%201%3D1", "1%3BDROP%20TABLE%20baton.tasks", "%00", "%D9%A1", "%F0%9F%98%80", "%ED%A0%80", "1'--"];

// Valid bodies per operation (fixture ids filled in at run time). Each must succeed: the last test
// sends them and expects SAMPLE_STATUS, which proves the rejections above came from the hostile
// change and not from a broken sample or a missing fixture.
function samples(): Record<string, Json> {
  const t = fixtures.task;
  return {
    "POST /api/tasks": {
      type: "noop",
      title: "hostile sample",
      description: "d",
      payload: { k: "v", n: 1, list: [1, "two"] },
      priority: 1,
      queue: "q-sample",
      runAt: "2030-01-01T00:00:00Z",
      maxAttempts: 2,
      backoff: { baseMs: 10, maxMs: 20 },
      timeoutMs: 1000,
      dedupeKey: "dk-sample",
      hold: true,
      conversations: [{ role: "user", content: "c", status: "new" }],
    },
    "POST /api/tasks/batch": { dedupe: "key", tasks: [{ type: "noop", title: "batch sample", hold: true, payload: { a: "b" }, priority: 2 }] },
    "POST /api/tasks/status": { completed: [t], failed: [fixtures.task2], pending: [] },
    "PATCH /api/tasks/{id}": { title: "patched", description: "d2", priority: 3, payload: { k: "w" }, runAt: "2031-01-01T00:00:00Z" },
    "POST /api/tasks/{id}/conversations": { role: "agent", content: "hello", status: "new" },
    "PATCH /api/conversations/{id}": { role: "agent", content: "edited", status: "done" },
    "POST /api/task-logs": { taskId: t, message: "a note", attempt: 0 },
    "PATCH /api/task-logs/{id}": { message: "edited note" },
    "POST /api/schedules": {
      name: "hostile-sample",
      type: "noop",
      title: "s",
      payload: { a: "b" },
      trigger: { kind: "interval", seconds: 3600 },
      priority: 1,
      queue: "sq",
      maxAttempts: 2,
      backoff: { baseMs: 100, maxMs: 200 },
      timeoutMs: 1000,
      deactivateAfterFailures: 3,
      catchUp: "none",
      overlap: "skip",
      status: "paused",
    },
    "PATCH /api/schedules/{id}": { name: "hostile-renamed", title: "t2", payload: { a: "c" }, trigger: { kind: "cron", expression: "0 9 * * *", timezone: "Europe/Berlin" } },
    "POST /api/schedules/preview": { trigger: { kind: "cron", expression: "*/5 * * * *", timezone: "UTC" }, count: 5 },
    "PUT /api/settings/notifications": {
      enabled: false,
      webhookUrl: "http://127.0.0.1:9/hook",
      format: "generic",
      events: { taskFailed: true, scheduleDeactivated: true, taskCompleted: false },
      maxAttempts: 3,
      backoffBaseMs: 1000,
    },
  };
}

/** What each sample body gets: creates are 201, everything else 200. */
const SAMPLE_STATUS: Record<string, number> = {
  "POST /api/tasks": 201,
  "POST /api/tasks/{id}/conversations": 201,
  "POST /api/task-logs": 201,
  "POST /api/schedules": 201,
};

/** Schema-specific hostiles that the generic mutations do not produce, each with its status if not 400. */
function extras(): Record<string, [string, Json | string, number?][]> {
  return {
    "POST /api/tasks": [
      ["SQL as the type", { type: "noop'; DROP TABLE baton.tasks; --" }],
      ["unknown type", { type: "no-such-type" }],
      ["type missing", { title: "x" }],
      ["impossible runAt", { type: "noop", runAt: "2030-13-45T99:99:99Z" }],
      ["runAt without zone", { type: "noop", runAt: "2030-01-01 00:00" }],
      ["fractional priority", { type: "noop", priority: 1.5 }],
      ["priority over range", { type: "noop", priority: 40000 }],
      ["maxAttempts 0", { type: "noop", maxAttempts: 0 }],
      ["maxAttempts -1", { type: "noop", maxAttempts: -1 }],
      ["hold as string", { type: "noop", hold: "true" }],
      ["1001 conversations", { type: "noop", conversations: Array.from({ length: 1001 }, () => ({ content: "c" })) }],
      ["payload is an array", { type: "noop", payload: [1, 2] }],
      ["payload is a string", { type: "noop", payload: "x" }],
      ["http payload with a non-http URL", { type: "http", payload: { url: "file:///etc/passwd" } }],
      ["backoff maxMs < baseMs", { type: "noop", backoff: { baseMs: 100, maxMs: 10 } }],
      ["empty dedupeKey", { type: "noop", dedupeKey: "" }],
    ],
    "POST /api/tasks/batch": [
      ["no tasks", { tasks: [] }],
      ["10,001 tasks", { tasks: Array.from({ length: 10_001 }, () => ({ type: "noop" })) }],
      ["one bad task among good ones", { tasks: [{ type: "noop", hold: true }, { type: "noop", priority: "x" }] }],
      ["unknown dedupe mode", { dedupe: "sql", tasks: [{ type: "noop" }] }],
    ],
    "POST /api/tasks/status": [
      ["id 0", { completed: [0] }],
      ["id -1", { failed: [-1] }],
      ["fractional id", { pending: [1.5] }],
      ["id as string", { completed: ["1"] }],
      ["id as SQL", { completed: ["1 OR 1=1"] }],
      ["null id", { completed: [null] }],
      ["2^53 + 1", '{"completed":[9007199254740993]}'],
      ["10,001 ids", { completed: Array.from({ length: 10_001 }, (_, i) => i + 1) }],
    ],
    "POST /api/task-logs": [
      ["taskId 0", { taskId: 0, message: "m" }],
      ["taskId -1", { taskId: -1, message: "m" }],
      ["taskId as string", { taskId: "1", message: "m" }],
      ["taskId 2^63", '{"taskId":9223372036854775808,"message":"m"}'],
      ["attempt -1", { taskId: fixtures.task, message: "m", attempt: -1 }],
      ["empty message", { taskId: fixtures.task, message: "" }],
    ],
    "PATCH /api/tasks/{id}": [
      ["nothing to change", {}],
      ["status is not editable", { status: "completed" }],
    ],
    "POST /api/schedules": [
      ["SQL as the cron expression", { name: "s1", type: "noop", trigger: { kind: "cron", expression: "0 9 * * *'; DROP TABLE baton.schedules; --" } }],
      ["8-field cron", { name: "s2", type: "noop", trigger: { kind: "cron", expression: "* * * * * * * *" } }],
      ["unknown time zone", { name: "s3", type: "noop", trigger: { kind: "cron", expression: "0 9 * * *", timezone: "Mars/Olympus_Mons" } }],
      ["interval 0", { name: "s4", type: "noop", trigger: { kind: "interval", seconds: 0 } }],
      ["interval -1", { name: "s5", type: "noop", trigger: { kind: "interval", seconds: -1 } }],
      ["once in the past", { name: "s6", type: "noop", trigger: { kind: "once", at: "2001-01-01T00:00:00Z" } }],
      ["unknown trigger kind", { name: "s7", type: "noop", trigger: { kind: "sql", expression: "select 1" } }],
      ["empty name", { name: "", type: "noop", trigger: { kind: "interval", seconds: 60 } }],
      ["unknown type", { name: "s8", type: "no-such-type", trigger: { kind: "interval", seconds: 60 } }],
      ["duplicate name", { name: "fixture-schedule", type: "noop", trigger: { kind: "interval", seconds: 60 } }, 409],
    ],
    "PUT /api/settings/notifications": [
      ["enabled without a URL", { enabled: true }],
      ["URL that is not a URL", { webhookUrl: "not a url" }],
      ["javascript: URL", { webhookUrl: "javascript:alert(1)" }],
      ["unknown format", { format: "sql" }],
    ],
  };
}

// ------------------------------------------------------------------ setup

interface Op {
  key: string;
  method: string;
  template: string;
  hasBody: boolean;
  queryParams: { name: string; schema: Record<string, unknown> }[];
}

let ops: Op[] = [];

function fill(template: string): string {
  const id = template.startsWith("/api/conversations/")
    ? fixtures.conversation
    : template.startsWith("/api/task-logs/")
      ? fixtures.log
      : template.startsWith("/api/schedules/")
        ? fixtures.schedule
        : fixtures.task;
  return template.replace(/\{[^}]+\}/g, String(id));
}

beforeAll(async () => {
  tdb = await createTestDb();
  svc = await startTestService(tdb.url, { WORKER_ENABLED: "false", SCHEDULER_ENABLED: "false" });
  // Every fixture must be created: the id-based cases are aimed at them, and against a missing
  // row they would only test the 404 path.
  const post = async (path: string, body: unknown) => {
    const r = await send("POST", path, JSON.stringify(body));
    if (r.status !== 201) throw new Error(`fixture ${path}: ${r.status} ${r.text}`);
    return JSON.parse(r.text);
  };
  const task = await post("/api/tasks", { type: "noop", title: "fixture 100% done_", hold: true, conversations: [{ content: "first" }] });
  fixtures.task = task.id;
  fixtures.task2 = (await post("/api/tasks", { type: "noop", title: "fixture two", hold: true })).id;
  fixtures.conversation = (await post(`/api/tasks/${task.id}/conversations`, { content: "second" })).items[0].id;
  fixtures.log = (await post("/api/task-logs", { taskId: task.id, message: "fixture note" })).id;
  fixtures.schedule = (await post("/api/schedules", { name: "fixture-schedule", type: "noop", trigger: { kind: "interval", seconds: 3600 }, status: "paused" })).id;

  const doc = JSON.parse((await send("GET", "/openapi.json")).text) as {
    paths: Record<string, Record<string, { requestBody?: unknown; parameters?: { name: string; in: string; schema: Record<string, unknown> }[] }>>;
  };
  for (const [template, methods] of Object.entries(doc.paths)) {
    for (const [m, op] of Object.entries(methods)) {
      if (!template.startsWith("/api/")) continue;
      ops.push({
        key: `${m.toUpperCase()} ${template}`,
        method: m.toUpperCase(),
        template,
        hasBody: op.requestBody !== undefined,
        queryParams: (op.parameters ?? []).filter((p) => p.in === "query").map((p) => ({ name: p.name, schema: p.schema ?? {} })),
      });
    }
  }
  ops = ops.sort((a, b) => a.key.localeCompare(b.key));
});
afterAll(async () => {
  await svc?.stop();
  await tdb?.drop();
});

const WRITE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

// ------------------------------------------------------------------ tests

describe("write endpoints", () => {
  it("reject every hostile body with a 4xx and change nothing", async () => {
    const writes = ops.filter((o) => WRITE.has(o.method));
    expect(writes.length).toBeGreaterThanOrEqual(15);
    const bodies = samples();
    const more = extras();
    const before = await snapshot();
    let sent = 0;
    for (const op of writes) {
      const path = fill(op.template);
      const cases: [string, string, number?][] = [...GENERIC];
      const sample = bodies[op.key];
      if (op.hasBody && sample !== undefined) {
        cases.push(...mutations(sample));
        for (const [label, b, status] of more[op.key] ?? []) cases.push([label, typeof b === "string" ? b : JSON.stringify(b), status]);
      }
      for (const [label, body, status] of cases) {
        expectRejected(await send(op.method, path, body), `${op.key}: ${label}`, status);
        sent++;
      }
      // The right JSON under the wrong (or no) content type.
      const valid = JSON.stringify(sample ?? {});
      for (const ct of CONTENT_TYPES) {
        expectRejected(await send(op.method, path, valid, ct), `${op.key}: content-type ${ct}`, 415);
        sent++;
      }
      expectRejected(await send(op.method, path, valid, null), `${op.key}: no content-type`, 415);
      if (op.hasBody) {
        expectRejected(await send(op.method, path, "", "application/json"), `${op.key}: empty body`);
        expectRejected(await send(op.method, path, undefined, null), `${op.key}: no body at all`);
        expectRejected(await send(op.method, path, "   ", "application/json"), `${op.key}: whitespace body`);
        sent += 3;
      }
      // Hostile ids in the path (with a valid body, so only the id is wrong).
      if (op.template.includes("{")) {
        for (const id of hostileFor(op.template)) {
          const p = op.template.replace(/\{[^}]+\}/g, id);
          expectRejected(await send(op.method, p, op.hasBody ? valid : undefined), `${op.key}: id ${id}`);
          sent++;
        }
        // Well-formed but absent (with a valid body): not found, not a validation error. A queue
        // that has no row exists all the same (with the defaults), so names have no "absent".
        if (!op.template.includes("{name}")) {
          const missing = op.template.replace(/\{[^}]+\}/g, "999999999");
          const r = await send(op.method, missing, op.hasBody ? valid : undefined);
          expectRejected(r, `${op.key}: id 999999999`, 404);
          sent++;
        }
      }
      expect(await snapshot(), `database changed by hostile input to ${op.key}`).toEqual(before);
      await expectUp();
    }
    // Several thousand requests: the guard is exercised, not sampled.
    expect(sent).toBeGreaterThan(500);
  });
});

/** Parameters documented as plain strings whose values are checked all the same (lists of known values). */
const CHECKED_LISTS = new Set(["GET /api/tasks status"]);

const forge = (c: unknown) => Buffer.from(JSON.stringify(c)).toString("base64url");
/** Task-list cursors a client could craft: not base64url JSON, wrong types, SQL text, out of range. */
const FORGED_CURSORS = [
  "not-a-cursor",
  forge({ v: "' OR 1=1 --", id: 1, s: "id", o: "desc" }),
  forge({ v: "' OR 1=1 --", id: 1, s: "createdAt", o: "desc" }),
  forge({ v: { a: 1 }, id: 1, s: "runAt", o: "asc" }),
  forge({ v: 1, id: 1e300, s: "id", o: "desc" }),
  forge({ v: 1, id: -1, s: "id", o: "desc" }),
  forge({ v: 1, id: 1.5, s: "id", o: "desc" }),
  forge({ v: "1", id: "1", s: "id", o: "desc" }),
  forge({ v: 99999999999, id: 1, s: "priority", o: "desc" }),
  forge({ v: "x", id: 1 }),
  forge(null),
  forge([1, 2]),
  forge("a string"),
];

describe("filters", () => {
  it("reject hostile values of strict parameters and match free text literally", async () => {
    const lists = ops.filter((o) => o.method === "GET" && o.queryParams.length > 0);
    expect(lists.length).toBeGreaterThanOrEqual(3);
    const before = await snapshot();
    const STRICT_VALUES = ["-1", "0", "9223372036854775808", "1e3", "1.5", "abc", "' OR '1'='1' --", "%00", "%ED%A0%80", "%E2%80%AE", "x".repeat(10_000)];
    const FREE_REJECT = ["%00", "x".repeat(10_000)];
    const FREE_LITERAL = ["' OR '1'='1' --", "noop' OR 1=1; DROP TABLE baton.tasks; --", "%25' --", "\\", "%E2%80%AEevil", "%F0%9F%98%80", "%ED%A0%80"];
    for (const op of lists) {
      const path = fill(op.template);
      for (const p of op.queryParams) {
        const s = p.schema as { type?: string; enum?: unknown[]; pattern?: string; format?: string };
        const strict =
          s.type === "integer" ||
          s.type === "number" ||
          Array.isArray(s.enum) ||
          typeof s.pattern === "string" ||
          typeof s.format === "string" ||
          p.name === "cursor" ||
          p.name === "limit" ||
          CHECKED_LISTS.has(`${op.key} ${p.name}`);
        const what = (v: string) => `${op.key} ?${p.name}=${v.slice(0, 40)}`;
        if (strict) {
          for (const v of STRICT_VALUES) {
            if (p.name === "limit" && v === "1e3") continue;
            expectRejected(await send("GET", `${path}?${p.name}=${encodeOnce(v)}`), what(v));
          }
          if (p.name === "limit") {
            for (const v of ["1001", "100000", ""]) {
              if (v === "") continue;
              expectRejected(await send("GET", `${path}?limit=${v}`), what(v));
            }
          }
        } else {
          for (const v of FREE_REJECT) expectRejected(await send("GET", `${path}?${p.name}=${encodeOnce(v)}`), what(v));
          for (const v of FREE_LITERAL) {
            const r = await send("GET", `${path}?${p.name}=${encodeOnce(v)}`);
            // Free text is matched literally: 200, and nothing holds these strings.
            expect(r.status, `${what(v)} → ${r.text.slice(0, 300)}`).toBe(200);
            const body = JSON.parse(r.text);
            expect(body.total ?? body.items.length, `${what(v)} matched rows`).toBe(0);
          }
        }
      }
      expect(await snapshot(), `database changed by a filter of ${op.key}`).toEqual(before);
    }
    await expectUp();
  });

  it("reject hostile ids in the path of every read", async () => {
    const reads = ops.filter((o) => o.method === "GET" && o.template.includes("{"));
    expect(reads.length).toBeGreaterThanOrEqual(4);
    for (const op of reads) {
      for (const id of hostileFor(op.template)) expectRejected(await send("GET", op.template.replace(/\{[^}]+\}/g, id)), `${op.key}: id ${id}`);
      if (!op.template.includes("{name}")) {
        expectRejected(await send("GET", op.template.replace(/\{[^}]+\}/g, "999999999")), `${op.key}: id 999999999`, 404);
      }
    }
    await expectUp();
  });

  it("rejects forged task-list cursors", async () => {
    const before = await snapshot();
    for (const c of FORGED_CURSORS) {
      const decoded = Buffer.from(c, "base64url").toString();
      let order = "desc";
      try {
        order = JSON.parse(decoded)?.o ?? "desc";
      } catch {}
      for (const sort of ["id", "createdAt", "runAt", "priority"]) {
        expectRejected(await send("GET", `/api/tasks?sort=${sort}&order=${order}&cursor=${c}`), `cursor ${decoded} sort=${sort}`);
      }
    }
    expect(await snapshot()).toEqual(before);
  });
});

/** Percent-encodes a value unless it is already written percent-encoded (raw bytes on purpose). */
function encodeOnce(v: string): string {
  return /%[0-9A-F]{2}/.test(v) ? v.replace(/[ '";\\]/g, (c) => encodeURIComponent(c)) : encodeURIComponent(v);
}

/** A page's refusal: the status asked for, an HTML page (not a stack or a problem document), no internals. */
function expectPageRejected(r: Reply, what: string, status = 400) {
  expect(r.status, `${what} → ${r.status} ${r.text.slice(0, 300)}`).toBe(status);
  expect(r.contentType, what).toContain("text/html");
  for (const re of LEAKS) expect(r.text, `${what}: page leaks ${re}`).not.toMatch(re);
}

describe("dashboard pages", () => {
  it("answer a forged /tasks cursor with a 400 page, as the API does, and change nothing", async () => {
    const before = await snapshot();
    // The page lists newest first: a cursor of the ascending API order is not one of its own.
    for (const c of [...FORGED_CURSORS, forge({ v: 5, id: 5, s: "id", o: "asc" })]) {
      expectPageRejected(await send("GET", `/tasks?cursor=${c}`), `/tasks cursor ${Buffer.from(c, "base64url").toString()}`);
    }
    expect(await snapshot()).toEqual(before);
    await expectUp();
  });

  it("answer other bad /tasks filters with a 400 page", async () => {
    const bad = [
      "status=bogus",
      "status=pending,bogus",
      `status=${encodeURIComponent("' OR '1'='1' --")}`,
      "scheduleId=-1",
      "scheduleId=0",
      "scheduleId=abc",
      "scheduleId=9223372036854775808",
      "search=%00",
      `search=${"x".repeat(10_000)}`,
      "type=%00",
      `type=${"x".repeat(10_000)}`,
    ];
    for (const qs of bad) expectPageRejected(await send("GET", `/tasks?${qs}`), `/tasks?${qs.slice(0, 40)}`);
    for (const id of HOSTILE_IDS) expectPageRejected(await send("GET", `/tasks/${id}`), `/tasks/${id}`, 404);
    await expectUp();
  });

  it("take the API's cursor and empty filters (the filter form sends them) as the first page does", async () => {
    const page = JSON.parse((await send("GET", "/api/tasks?limit=1")).text);
    expect(page.nextCursor, "fixtures hold at least two tasks").toEqual(expect.any(String));
    const r = await send("GET", `/tasks?cursor=${page.nextCursor}`);
    expect(r.status, r.text.slice(0, 300)).toBe(200);
    // The page after the newest task does not show it.
    expect(r.text).not.toContain(`href="/tasks/${page.items[0].id}"`);
    expect((await send("GET", "/tasks?status=&type=&search=")).status).toBe(200);
  });

  it("ignore junk query parameters on every other page", async () => {
    for (const path of ["/", "/schedules", "/task-types", "/instances", "/settings", `/tasks/${fixtures.task}`]) {
      const r = await send("GET", `${path}?cursor=${FORGED_CURSORS[1]}&x=%00&status=${"x".repeat(5000)}`);
      expect(r.status, `${path} → ${r.text.slice(0, 300)}`).toBe(200);
      for (const re of LEAKS) expect(r.text, `${path}: page leaks ${re}`).not.toMatch(re);
    }
  });
});

describe("accepted by design: stored and matched literally", () => {
  const SQLI = "'); DROP TABLE baton.tasks; -- \" OR 1=1 /* */ UNION SELECT * FROM pg_shadow; \\";
  const UNICODE = "\u202Egnp.exe \u{1F600}\u{1F469}\u200D\u{1F4BB} e\u0301 \uFEFF ﷽ 𝕏";

  it("stores SQL-injection and unicode text byte for byte and changes nothing else", async () => {
    const before = await snapshot();
    const body = { type: "noop", title: SQLI, description: UNICODE, queue: SQLI, dedupeKey: `${SQLI}${UNICODE}`, hold: true, payload: { [SQLI]: UNICODE }, conversations: [{ content: SQLI + UNICODE }] };
    const r = await send("POST", "/api/tasks", JSON.stringify(body));
    expect(r.status, r.text).toBe(201);
    const created = JSON.parse(r.text);
    expect(created.title).toBe(SQLI);
    expect(created.description).toBe(UNICODE);
    expect(created.queue).toBe(SQLI);
    expect(created.payload).toEqual({ [SQLI]: UNICODE });
    const [row] = await tdb.database.sql`select title, description, queue, dedupe_key, payload from baton.tasks where id = ${created.id}`;
    expect(row.title).toBe(SQLI);
    expect(row.description).toBe(UNICODE);
    expect(row.dedupe_key).toBe(`${SQLI}${UNICODE}`);
    const [conv] = await tdb.database.sql`select content from baton.conversations where task_id = ${created.id}`;
    expect(conv.content).toBe(SQLI + UNICODE);
    const after = await snapshot();
    // Exactly one task and one conversation more; every other table untouched.
    expect(after["baton.tasks"].split(":")[0]).toBe(String(Number(before["baton.tasks"].split(":")[0]) + 1));
    expect(after["baton.conversations"].split(":")[0]).toBe(String(Number(before["baton.conversations"].split(":")[0]) + 1));
    for (const t of ["baton.task_logs", "baton.schedules", "baton.settings", "baton.idempotency_keys", "graphile_worker.jobs"]) expect(after[t], t).toBe(before[t]);

    // Filters find it by the literal text only.
    const q = async (qs: string) => JSON.parse((await send("GET", `/api/tasks?${qs}`)).text);
    expect((await q(`search=${encodeURIComponent("DROP TABLE baton.tasks")}`)).items.map((t: { id: number }) => t.id)).toEqual([created.id]);
    expect((await q(`queue=${encodeURIComponent(SQLI)}`)).items.map((t: { id: number }) => t.id)).toEqual([created.id]);
    expect((await q(`queue=${encodeURIComponent("' OR 1=1 --")}`)).total).toBe(0);
    // LIKE wildcards are literal: "%" and "_" match only titles that contain them.
    for (const ch of ["%", "_"]) {
      const want = await tdb.database.sql`select id from baton.tasks where strpos(title, ${ch}) > 0 order by id desc`;
      expect(want.length, `titles with ${ch}`).toBeGreaterThan(0);
      expect(want.length, `titles with ${ch}`).toBeLessThan(Number(after["baton.tasks"].split(":")[0]));
      expect((await q(`search=${encodeURIComponent(ch)}`)).items.map((t: { id: number }) => t.id)).toEqual(want.map((r) => r.id));
    }

    // Edits of free text take the same path.
    const patched = await send("PATCH", `/api/tasks/${created.id}`, JSON.stringify({ title: UNICODE + SQLI }));
    expect(patched.status).toBe(200);
    expect(JSON.parse(patched.text).title).toBe(UNICODE + SQLI);
    const note = await send("POST", "/api/task-logs", JSON.stringify({ taskId: created.id, message: SQLI }));
    expect(note.status).toBe(201);
    expect(JSON.parse(note.text).message).toBe(SQLI);
    await expectUp();
  });

  it("the sample bodies used above are valid: each one succeeds", async () => {
    const bodies = samples();
    const writes = ops.filter((o) => WRITE.has(o.method) && bodies[o.key] !== undefined);
    // Every sample is sent: one for an operation that is no longer documented is a broken walk.
    expect(writes.map((o) => o.key).sort()).toEqual(Object.keys(bodies).sort());
    // Deletes last, so the fixtures exist for the others.
    writes.sort((a, b) => Number(a.method === "DELETE") - Number(b.method === "DELETE"));
    for (const op of writes) {
      const r = await send(op.method, fill(op.template), JSON.stringify(bodies[op.key]));
      expect(r.status, `${op.key} sample → ${r.status} ${r.text.slice(0, 300)}`).toBe(SAMPLE_STATUS[op.key] ?? 200);
    }
  });
});
