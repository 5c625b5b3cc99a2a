/**
 * Property-based fuzzing (fast-check) of the create-task and create-schedule bodies: whatever the
 * body (plausible fields with hostile values, random JSON, raw bytes, lone surrogates, NUL, huge
 * numbers, unknown keys, deep nesting), the answer is never a 5xx and never leaks internals. The
 * generators are biased towards plausible values, and the test checks that a share of bodies is
 * accepted, so it exercises the handlers and the database rather than only the validators.
 *
 * Seeds: fast-check picks a random seed per run and prints it with any failure; replay it with
 * FUZZ_SEED=<seed>. FUZZ_RUNS changes the number of bodies per property (default 150);
 * FUZZ_VERBOSE=1 prints the status counts.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Service } from "../src/service.js";
import { createTestDb, type TestDb } from "./helpers/db.js";
import { startTestService } from "./helpers/service.js";

let tdb: TestDb;
let svc: Service;
let paths: Record<string, Record<string, unknown>> = {};

const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;

beforeAll(async () => {
  tdb = await createTestDb();
  // No worker and no scheduler: created tasks are never run (no outbound call can happen).
  svc = await startTestService(tdb.url, { WORKER_ENABLED: "false", SCHEDULER_ENABLED: "false" });
  const doc = await fetch(`${svc.url}/openapi.json`).then((r) => r.json());
  paths = doc.paths;
});
afterAll(async () => {
  await svc?.stop();
  await tdb?.drop();
});

// ---------------------------------------------------------------- generators

const BIG = "\u0001big:";
/** JSON text in which bigint values appear as raw integer literals (beyond 2^53, 2^63, 2^64...). */
function toJson(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? `${BIG}${x}` : x)).replace(/"\\u0001big:(-?\d+)"/g, "$1");
}

/** UTF-16 code units, lone surrogates and NUL included. */
const utf16 = fc.array(fc.nat(0xffff), { maxLength: 30 }).map((a) => String.fromCharCode(...a));
const text = (max: number) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.string({ maxLength: Math.min(max, 60) }) },
    { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
    { weight: 1, arbitrary: utf16 },
    { weight: 1, arbitrary: fc.constantFrom("\u0000", "a\u0000b", "\ud800", "\udfff x", "'; DROP TABLE baton.tasks; --", "\u202E", "%_\\") },
    { weight: 1, arbitrary: fc.nat(3).map((k) => "x".repeat([max, max + 1, 2 * max, 0][k])) },
  );
const int = (min: number, max: number) =>
  fc.oneof(
    { weight: 5, arbitrary: fc.integer({ min, max }) },
    { weight: 1, arbitrary: fc.integer() },
    { weight: 1, arbitrary: fc.double() },
    { weight: 1, arbitrary: fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }) },
  );
/** Anything at all, for the "wrong type" case of every field. */
const anything = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.bigInt(), utf16, fc.constant(null));
const field = <T>(plausible: fc.Arbitrary<T>) => fc.oneof({ weight: 6, arbitrary: plausible as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: anything });
const isoDate = fc.date({ min: new Date("1970-01-01"), max: new Date("2100-01-01"), noInvalidDate: true }).map((d) => d.toISOString());
const payload = fc.oneof(
  fc.constant({}),
  fc.dictionary(text(30), fc.jsonValue({ maxDepth: 4 }), { maxKeys: 5 }),
  fc.record({ url: fc.constantFrom("http://127.0.0.1:9/hook", "ftp://x", "not a url", "http://169.254.169.254/"), method: fc.constantFrom("GET", "POST", "BREW") }),
  fc.record({ durationMs: int(0, 10_000), failProbability: fc.double({ min: -1, max: 2 }) }, { requiredKeys: [] }),
  fc.record({ batch: int(0, 10_000), threshold: int(0, 10_000) }, { requiredKeys: [] }),
);
const extraKeys = fc.dictionary(text(20), anything, { maxKeys: 2 });

// Valid values, to build bodies that are accepted (so handlers and SQL run, not only validation).
const okText = (max: number) => fc.string({ unit: "binary", maxLength: Math.min(max, 80) }).filter((x) => !x.includes("\u0000"));
const okTask = fc.record(
  {
    type: fc.constant("noop"),
    title: okText(500),
    description: okText(10_000),
    payload: fc.dictionary(okText(20), fc.jsonValue({ maxDepth: 3 }).filter((v) => !JSON.stringify(v).includes("\\u0000")), { maxKeys: 4 }),
    priority: fc.integer({ min: -32767, max: 32767 }),
    queue: fc.option(okText(200).filter((x) => x.length > 0)),
    runAt: isoDate,
    maxAttempts: fc.integer({ min: 1, max: 1000 }),
    backoff: fc.integer({ min: 1, max: 86_400_000 }).map((b) => ({ baseMs: b, maxMs: b })),
    timeoutMs: fc.integer({ min: 1, max: 86_400_000 }),
    hold: fc.boolean(),
    conversations: fc.array(fc.record({ content: okText(1000), role: okText(100), status: okText(100) }, { requiredKeys: ["content"] }), { maxLength: 3 }),
  },
  { requiredKeys: ["type"] },
);
const hostileTask = fc.record(
  {
    type: field(fc.constantFrom("noop", "simulate", "http", "release", "no-such-type")),
    title: field(text(500)),
    description: field(text(10_000)),
    payload: field(payload),
    priority: field(int(-32767, 32767)),
    queue: field(fc.option(text(200))),
    runAt: field(fc.oneof(isoDate, text(40))),
    maxAttempts: field(int(1, 1000)),
    backoff: field(fc.record({ baseMs: int(1, 86_400_000), maxMs: int(1, 86_400_000) }, { requiredKeys: [] })),
    timeoutMs: field(int(1, 86_400_000)),
    dedupeKey: field(text(500)),
    hold: field(fc.boolean()),
    conversations: field(fc.array(fc.record({ content: field(text(1000)), role: field(text(100)), status: field(text(100)) }, { requiredKeys: ["content"] }), { maxLength: 3 })),
  },
  { requiredKeys: [] },
);

const trigger = fc.oneof(
  fc.record(
    {
      kind: fc.constant("cron"),
      expression: field(fc.oneof(fc.constantFrom("0 9 * * *", "*/5 * * * *", "0 0 30 2 *", "59 23 31 12 5", "0 0 * * * *", "@daily", "* * * * * * *", "61 25 * * *"), text(40))),
      timezone: field(fc.oneof(fc.constantFrom("UTC", "Europe/Berlin", "Asia/Kolkata", "America/St_Johns", "Mars/Base"), text(40))),
    },
    { requiredKeys: ["kind"] },
  ),
  fc.record({ kind: fc.constant("interval"), seconds: field(int(1, 315_360_000)), startAt: field(isoDate) }, { requiredKeys: ["kind"] }),
  fc.record({ kind: fc.constant("once"), at: field(fc.oneof(isoDate, text(40))) }, { requiredKeys: ["kind"] }),
  anything,
);

const okSchedule = fc.record(
  {
    name: fc.uuid(),
    type: fc.constant("noop"),
    title: fc.option(okText(500)),
    payload: fc.constant({}),
    trigger: fc.oneof(
      fc.record({ kind: fc.constant("interval"), seconds: fc.integer({ min: 1, max: 315_360_000 }) }),
      fc.record({ kind: fc.constant("cron"), expression: fc.constantFrom("0 9 * * *", "*/5 * * * *", "0 0 1 1 *", "30 2 * * 0"), timezone: fc.constantFrom("UTC", "Europe/Berlin", "Asia/Kolkata", "America/St_Johns") }),
      fc.record({ kind: fc.constant("once"), at: fc.date({ min: new Date("2030-01-01"), max: new Date("2090-01-01"), noInvalidDate: true }).map((d) => d.toISOString()) }),
    ),
    priority: fc.integer({ min: -32767, max: 32767 }),
    maxAttempts: fc.integer({ min: 1, max: 1000 }),
    catchUp: fc.constantFrom("none", "latest", "all"),
    overlap: fc.constantFrom("skip", "allow"),
    status: fc.constantFrom("active", "paused"),
  },
  { requiredKeys: ["name", "type", "trigger"] },
);
const hostileSchedule = fc.record(
  {
    name: field(text(200)),
    type: field(fc.constantFrom("noop", "http", "release", "no-such-type")),
    title: field(fc.option(text(500))),
    payload: field(payload),
    trigger: trigger,
    priority: field(int(-32767, 32767)),
    queue: field(fc.option(text(200))),
    maxAttempts: field(int(1, 1000)),
    backoff: field(fc.record({ baseMs: int(1, 86_400_000), maxMs: int(1, 86_400_000) }, { requiredKeys: [] })),
    timeoutMs: field(fc.option(int(1, 86_400_000))),
    deactivateAfterFailures: field(fc.option(int(1, 1_000_000))),
    catchUp: field(fc.constantFrom("none", "latest", "all", "some")),
    overlap: field(fc.constantFrom("skip", "allow", "queue")),
    status: field(fc.constantFrom("active", "paused", "inactive")),
  },
  { requiredKeys: ["name", "type", "trigger"] },
);

/**
 * Bodies: valid ones; valid ones with one field (or one new key) replaced by a hostile value (the
 * most telling case: everything else passes, so that one value reaches as far as it can); and
 * bodies hostile throughout.
 */
function bodiesFrom(ok: fc.Arbitrary<Record<string, unknown>>, hostile: fc.Arbitrary<Record<string, unknown>>, fields: fc.Arbitrary<Record<string, unknown>>) {
  const oneBad = fc.tuple(ok, fields, fc.oneof(fc.constant({}), extraKeys)).map(([good, bad, extra]) => {
    const keys = Object.keys(bad);
    const k = keys[0];
    return { ...good, ...(k ? { [k]: bad[k] } : {}), ...extra };
  });
  return fc.oneof({ weight: 3, arbitrary: ok }, { weight: 5, arbitrary: oneBad }, { weight: 2, arbitrary: hostile });
}

const taskBody = bodiesFrom(okTask, hostileTask, hostileTask);
const scheduleBody = bodiesFrom(okSchedule, hostileSchedule, hostileSchedule);

// ---------------------------------------------------------------- property

const LEAKS = [/\n\s+at /, /node_modules/, /\.ts:\d+/, /syntax error at or near/i, /SQLSTATE/i, /invalid input syntax/i];

async function post(path: string, raw: string) {
  const res = await fetch(svc.url + path, { method: "POST", headers: { "content-type": "application/json" }, body: raw });
  return { status: res.status, text: await res.text() };
}

async function fuzz(path: string, bodies: fc.Arbitrary<unknown>) {
  const statuses: number[] = [];
  await fc.assert(
    fc.asyncProperty(
      fc.oneof({ weight: 12, arbitrary: bodies.map(toJson) }, { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 50 }) }, { weight: 1, arbitrary: fc.jsonValue().map(toJson) }),
      async (raw) => {
        const r = await post(path, raw);
        statuses.push(r.status);
        if (r.status >= 500) throw new Error(`${r.status} for ${raw.slice(0, 500)}: ${r.text.slice(0, 300)}`);
        for (const re of LEAKS) if (re.test(r.text)) throw new Error(`response leaks ${re} for ${raw.slice(0, 300)}: ${r.text.slice(0, 300)}`);
      },
    ),
    { numRuns: RUNS, seed: SEED, endOnFailure: true },
  );
  if (process.env.FUZZ_VERBOSE) console.log(path, count(statuses));
  return statuses;
}

describe("fuzzing", () => {
  it("fuzzes operations that /openapi.json documents", () => {
    // Both bodies come from the document's operations; a route missing from it is a regression.
    expect(Object.keys(paths["/api/tasks"] ?? {})).toContain("post");
    expect(Object.keys(paths["/api/schedules"] ?? {})).toContain("post");
  });

  it("POST /api/tasks never answers 5xx", async () => {
    const statuses = await fuzz("/api/tasks", taskBody);
    const accepted = statuses.filter((s) => s === 201).length;
    // Bodies reach the database: a good share is valid and created.
    expect(accepted, `statuses: ${JSON.stringify(count(statuses))}`).toBeGreaterThanOrEqual(Math.floor(RUNS / 10));
    // Every 201 is one new row and nothing else wrote one (no scheduler, no worker).
    const [row] = await tdb.database.sql`select count(*)::int as n from baton.tasks`;
    expect(row.n).toBe(accepted);
  });

  it("POST /api/schedules never answers 5xx", async () => {
    const statuses = await fuzz("/api/schedules", scheduleBody);
    const accepted = statuses.filter((s) => s === 201).length;
    expect(accepted, `statuses: ${JSON.stringify(count(statuses))}`).toBeGreaterThanOrEqual(Math.floor(RUNS / 10));
    const [row] = await tdb.database.sql`select count(*)::int as n from baton.schedules`;
    expect(row.n).toBe(accepted);
  });

  it("the service is still up and ready", async () => {
    expect((await fetch(`${svc.url}/health`)).status).toBe(200);
    expect((await fetch(`${svc.url}/ready`)).status).toBe(200);
  });
});

function count(xs: number[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}
