/**
 * Limits: MAX_BODY_BYTES answers 413 with or without Content-Length (chunked bodies are counted
 * as they arrive); the per-key rate limit answers 429 with Retry-After, per key, and is off by
 * default; the raw JSON guard (duplicate keys, NUL, surrogates, depth, unsafe integers) in unit
 * form, including what it must let through.
 */
import { createHash } from "node:crypto";
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../src/api/deps.js";
import { inspectJson } from "../src/api/security/json-guard.js";
import { rateLimit, TokenBuckets } from "../src/api/security/ratelimit.js";
import { loadConfig } from "../src/config.js";
import type { Service } from "../src/service.js";
import { createTestDb, type TestDb } from "./helpers/db.js";
import { api, startTestService } from "./helpers/service.js";

const KEY_A = "limits-test-key-a";
const KEY_B = "limits-test-key-b";
const KEY_BODY = "limits-test-key-for-body-tests"; // its own rate-limit bucket
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

let tdb: TestDb;
let svc: Service;

beforeAll(async () => {
  tdb = await createTestDb();
  svc = await startTestService(tdb.url, {
    WORKER_ENABLED: "false",
    SCHEDULER_ENABLED: "false",
    MAX_BODY_BYTES: "4096",
    RATE_LIMIT_PER_MINUTE: "5",
    API_KEY_HASHES: [KEY_A, KEY_B, KEY_BODY].map(sha256).join(","),
  });
});
afterAll(async () => {
  await svc?.stop();
  await tdb?.drop();
});

async function taskCount(): Promise<number> {
  const [r] = await tdb.database.sql`select count(*)::int as n from baton.tasks`;
  return r.n;
}

/** A raw HTTP/1.1 request, so the test decides exactly how the body is framed. */
function raw(path: string, body: Buffer, opts: { chunked: boolean; key: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(svc.url + path);
    const headers: Record<string, string> = { "content-type": "application/json", "x-api-key": opts.key };
    if (opts.chunked) headers["transfer-encoding"] = "chunked";
    else headers["content-length"] = String(body.length);
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: "POST", headers }, (res) => {
      let text = "";
      res.on("data", (d) => {
        text += d;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    // Chunked: send the body in 512-byte pieces, none of which is too big alone.
    if (opts.chunked) for (let i = 0; i < body.length; i += 512) req.write(body.subarray(i, i + 512));
    else req.write(body);
    req.end();
  });
}

const bodyOf = (bytes: number) => {
  const base = JSON.stringify({ type: "noop", title: "", hold: true });
  return Buffer.from(base.replace('"title":""', `"title":"${"x".repeat(bytes - base.length)}"`));
};

describe("MAX_BODY_BYTES", () => {
  it("answers 413 above the limit, with Content-Length and chunked, and creates nothing", async () => {
    // The bulk goes in the payload (a 5,000-character title would be a 400 for its length).
    const big = Buffer.from(JSON.stringify({ type: "noop", hold: true, payload: { blob: "x".repeat(5000) } }));
    for (const chunked of [false, true]) {
      const r = await raw("/api/tasks", big, { chunked, key: KEY_BODY });
      expect(r.status, `chunked=${chunked}: ${r.body}`).toBe(413);
      expect(JSON.parse(r.body).status).toBe(413);
    }
    expect(await taskCount()).toBe(0);
  });

  it("accepts a body at the limit, both framings", async () => {
    const ok = bodyOf(400);
    for (const chunked of [false, true]) {
      const r = await raw("/api/tasks", ok, { chunked, key: KEY_BODY });
      expect(r.status, r.body).toBe(201);
    }
    const exact = Buffer.from(JSON.stringify({ type: "noop", hold: true, payload: { blob: "" } }));
    const filled = Buffer.from(exact.toString().replace('"blob":""', `"blob":"${"y".repeat(4096 - exact.length)}"`));
    expect(filled.length).toBe(4096);
    expect((await raw("/api/tasks", filled, { chunked: true, key: KEY_BODY })).status).toBe(201);
  });
});

describe("rate limit", () => {
  it("answers 429 with Retry-After once a key has spent its allowance; other keys are unaffected", async () => {
    const statuses: number[] = [];
    const remaining: (string | null)[] = [];
    let limited: Awaited<ReturnType<typeof api>> | null = null;
    for (let i = 0; i < 8; i++) {
      const r = await api(svc.url, "GET", "/api/tasks?limit=1", undefined, { "x-api-key": KEY_A });
      statuses.push(r.status);
      if (r.status === 200) remaining.push(r.headers.get("ratelimit-remaining"));
      if (r.status === 429) limited ??= r;
    }
    // 5 per minute: the bucket holds 5; a refill within the loop would be one token at most.
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    // Each allowed answer says how many requests are left: 4 after the first, 0 or 1 after the fifth.
    expect(remaining[0]).toBe("4");
    expect(["0", "1"]).toContain(remaining[4]);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(2);
    expect(limited?.headers.get("content-type")).toContain("application/problem+json");
    const retryAfter = Number(limited?.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(12);
    expect((await api(svc.url, "GET", "/api/tasks?limit=1", undefined, { "x-api-key": KEY_B })).status).toBe(200);
    // Probes are never limited.
    for (let i = 0; i < 10; i++) expect((await api(svc.url, "GET", "/health")).status).toBe(200);
  });

  it("refills continuously and forgets idle callers (token bucket arithmetic)", () => {
    const b = new TokenBuckets(60); // one token per second, bursts of 60
    const t0 = 1_000_000;
    for (let i = 0; i < 60; i++) expect(b.take("k", t0).ok).toBe(true);
    const denied = b.take("k", t0);
    expect(denied.ok).toBe(false);
    if (!denied.ok) expect(denied.retryAfterMs).toBe(1000);
    expect(b.take("k", t0 + 999).ok).toBe(false);
    expect(b.take("k", t0 + 2000).ok).toBe(true);
    expect(b.take("other", t0).ok).toBe(true);
  });

  it("is off by default", async () => {
    expect(loadConfig({}).RATE_LIMIT_PER_MINUTE).toBe(0);
    const app = new OpenAPIHono<AppEnv>();
    rateLimit(0)(app);
    app.get("/api/x", (c) => c.json({ ok: true }));
    const rs = await Promise.all(Array.from({ length: 200 }, () => app.request("/api/x")));
    expect(rs.filter((r) => r.status !== 200)).toEqual([]);
  });
});

describe("JSON guard", () => {
  it("finds duplicate keys at any depth, however they are spelled", () => {
    expect(inspectJson('{"a":1,"a":2}')?.message).toMatch(/duplicate key "a"/);
    expect(inspectJson('{"a":1,"\\u0061":2}')?.field).toBe("a");
    expect(inspectJson('{"x":[{"k":1},{"k":1,"k":2}]}')?.field).toBe("x.1.k");
    expect(inspectJson('{"p":{"q":{"r":1,"r":1}}}')?.field).toBe("p.q.r");
  });

  it("finds NUL, lone surrogates, unsafe integers, overflow and excess depth", () => {
    expect(inspectJson('{"t":"a\\u0000"}')?.message).toMatch(/U\+0000/);
    expect(inspectJson('{"a\\u0000":1}')?.message).toMatch(/key contains U\+0000/);
    expect(inspectJson('{"t":"\\ud800x"}')?.message).toMatch(/lone UTF-16 surrogate/);
    expect(inspectJson('{"t":"\\udc00"}')?.message).toMatch(/lone UTF-16 surrogate/);
    expect(inspectJson('{"n":9223372036854775808}')?.message).toMatch(/beyond/);
    expect(inspectJson('{"n":-9007199254740993}')?.message).toMatch(/beyond/);
    expect(inspectJson('{"n":1e400}')?.message).toMatch(/out of range/);
    expect(inspectJson(`${"[".repeat(65)}${"]".repeat(65)}`)?.message).toMatch(/deeper than 64/);
  });

  it("lets ordinary JSON through", () => {
    for (const ok of [
      '{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}',
      '{"t":"\\ud83d\\ude00 \\u202e \\\\u0000 \\" \\\\"}',
      '{"n":9007199254740991,"m":-9007199254740991,"f":1.5e300,"g":-0,"h":1e-400}',
      `${"[".repeat(64)}${"]".repeat(64)}`,
      '{"a\\"b":1,"a\\\\b":2,"a":3}',
      "[]",
      '"text"',
      "true",
    ]) {
      expect(inspectJson(ok), ok).toBeNull();
    }
  });
});
