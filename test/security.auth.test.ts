/**
 * Access control: every /api route needs a key (walked from /openapi.json, so a route added later
 * is covered without editing this file), wrong and empty keys are refused, both header forms and
 * the login cookie work, /metrics, /openapi.json, /docs and the dashboard are closed, /health and
 * /ready are open, PUBLIC_DASHBOARD opens only the read-only overview, security headers are sent,
 * keygen's output works end to end, and without keys a non-loopback bind is refused. (That an
 * instance without keys starts on loopback and warns is checked in ssrf.test.ts, which spawns one.)
 */
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import net from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Service } from "../src/service.js";
import { createTestDb, type TestDb } from "./helpers/db.js";
import { freePort } from "./helpers/process.js";
import { api, startTestService } from "./helpers/service.js";

const ROOT = path.resolve(import.meta.dirname, "..");
const run = promisify(execFile);

let tdb: TestDb;
let svc: Service;
let key: string;
let hash: string;
let second: { key: string; hash: string };
const other = "a-second-valid-key-used-by-another-client";

async function keygen(): Promise<{ key: string; hash: string }> {
  const { stdout } = await run(process.execPath, ["--import", "tsx", "scripts/keygen.ts"], { cwd: ROOT });
  const k = /^key:\s+(\S+)$/m.exec(stdout)?.[1];
  const h = /^hash:\s+(\S+)$/m.exec(stdout)?.[1];
  if (!k || !h) throw new Error(`unexpected keygen output: ${stdout}`);
  return { key: k, hash: h };
}

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

beforeAll(async () => {
  // Two runs of the real script (npm run keygen runs the same file); the first key is the service's.
  [{ key, hash }, second] = await Promise.all([keygen(), keygen()]);
  tdb = await createTestDb();
  svc = await startTestService(tdb.url, { API_KEY_HASHES: `${hash},${sha256(other)}`, WORKER_ENABLED: "false" });
});
afterAll(async () => {
  await svc?.stop();
  await tdb?.drop();
});

interface Op {
  method: string;
  path: string;
  hasBody: boolean;
}

async function operations(): Promise<Op[]> {
  const doc = await api(svc.url, "GET", "/openapi.json", undefined, { authorization: `Bearer ${key}` });
  expect(doc.status).toBe(200);
  const ops: Op[] = [];
  for (const [p, methods] of Object.entries(doc.body.paths as Record<string, Record<string, { requestBody?: unknown }>>)) {
    for (const [m, op] of Object.entries(methods)) {
      if (!["get", "post", "put", "patch", "delete"].includes(m)) continue;
      ops.push({ method: m.toUpperCase(), path: p.replace(/\{[^}]+\}/g, "1"), hasBody: op.requestBody !== undefined });
    }
  }
  return ops;
}

async function send(op: Op, headers: Record<string, string>) {
  return api(svc.url, op.method, op.path, op.hasBody ? {} : undefined, headers);
}

function expect401(r: { status: number; body: { status?: number } | null; headers: Headers }, what: string) {
  expect(r.status, what).toBe(401);
  expect(r.headers.get("content-type"), what).toContain("application/problem+json");
  expect(r.body?.status, what).toBe(401);
  expect(r.headers.get("www-authenticate"), what).toContain("Bearer");
}

describe("keygen", () => {
  it("prints a fresh 32-byte base64url key and its SHA-256 hex hash", async () => {
    for (const a of [{ key, hash }, second]) {
      expect(a.key).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(a.key, "base64url")).toHaveLength(32);
      expect(a.hash).toBe(sha256(a.key));
    }
    expect(second.key).not.toBe(key);
  });
});

describe("every /api route needs a key", () => {
  it("answers 401 problem+json to every operation in /openapi.json without a key, and runs none", async () => {
    const ops = await operations();
    const apiOps = ops.filter((o) => o.path.startsWith("/api/"));
    // The foundation alone documents 20 /api operations; fewer means the walk is broken.
    expect(apiOps.length).toBeGreaterThanOrEqual(20);
    const before = await tdb.database.sql`select count(*)::int as n from baton.task_logs`;
    for (const op of ops) expect401(await send(op, {}), `${op.method} ${op.path} without a key`);
    const after = await tdb.database.sql`select count(*)::int as n from baton.task_logs`;
    expect(after[0].n).toBe(before[0].n);
  });

  it("refuses wrong, empty, malformed keys and the hash itself, in both header forms", async () => {
    const ops = (await operations()).filter((o) => o.path.startsWith("/api/"));
    const bad: Record<string, string>[] = [
      { authorization: "Bearer not-the-key" },
      { authorization: "Bearer " },
      { authorization: "Bearer" },
      { authorization: `Basic ${Buffer.from(`x:${key}`).toString("base64")}` },
      { authorization: `Bearer ${hash}` },
      { authorization: `Bearer ${key}x` },
      { "x-api-key": "" },
      { "x-api-key": "not-the-key" },
      { "x-api-key": hash },
      { "x-api-key": key.slice(0, -1) },
      // The first credential present decides: a wrong Authorization is not rescued by X-API-Key.
      { authorization: "Bearer wrong", "x-api-key": key },
      { cookie: "baton_key=wrong" },
    ];
    for (const op of ops) {
      const rs = await Promise.all(bad.map((h) => send(op, h)));
      rs.forEach((r, i) => {
        expect401(r, `${op.method} ${op.path} with ${JSON.stringify(bad[i]).slice(0, 80)}`);
      });
    }
  });

  it("accepts a valid key as Bearer and as X-API-Key, and any configured key", async () => {
    const good: Record<string, string>[] = [{ authorization: `Bearer ${key}` }, { authorization: `bearer   ${key}` }, { "x-api-key": key }, { "x-api-key": other }];
    for (const h of good) {
      expect((await api(svc.url, "GET", "/api/tasks", undefined, h)).status).toBe(200);
    }
    const created = await api(svc.url, "POST", "/api/tasks", { type: "noop", title: "with a key" }, { "x-api-key": key });
    expect(created.status).toBe(201);
    const got = await api(svc.url, "GET", `/api/tasks/${created.body.id}`, undefined, { authorization: `Bearer ${key}` });
    expect(got.body.title).toBe("with a key");
  });
});

describe("everything but /health and /ready is closed", () => {
  it("keeps /health and /ready open", async () => {
    expect((await api(svc.url, "GET", "/health")).status).toBe(200);
    expect((await api(svc.url, "GET", "/ready")).status).toBe(200);
  });

  it("closes /metrics, /openapi.json, /docs, the dashboard and unknown paths", async () => {
    for (const p of ["/metrics", "/openapi.json", "/docs", "/", "/events", "/tasks", "/schedules", "/assets/baton.js", "/no-such-page"]) {
      expect401(await api(svc.url, "GET", p), `GET ${p}`);
    }
    for (const p of ["/metrics", "/openapi.json", "/docs"]) {
      expect((await api(svc.url, "GET", p, undefined, { authorization: `Bearer ${key}` })).status, p).toBe(200);
    }
  });

  it("cannot be reached through an open path by dot segments, encodings or case", async () => {
    // Raw request lines: fetch would normalise "/health/../api/tasks" before sending it.
    const tricks = ["/health/../api/tasks", "/ready/..%2Fapi/tasks", "/./api/tasks", "/%61pi/tasks", "/health%2F..%2Fapi%2Ftasks", "//api/tasks", "/login/../api/status", "/assets/../api/tasks", "/API/tasks"];
    for (const p of tricks) {
      const status = await new Promise<string>((resolve, reject) => {
        const s = net.connect(svc.port, "127.0.0.1", () => s.write(`GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
        let d = "";
        s.on("data", (x) => {
          d += x;
        });
        s.on("error", reject);
        s.on("close", () => resolve(d.split("\r\n")[0]));
      });
      expect(status, p).toBe("HTTP/1.1 401 Unauthorized");
    }
  });

  it("sends a browser that navigates to a page to /login instead", async () => {
    const r = await fetch(`${svc.url}/tasks?status=failed`, { headers: { accept: "text/html,*/*" }, redirect: "manual" });
    expect(r.status).toBe(303);
    expect(r.headers.get("location")).toBe(`/login?next=${encodeURIComponent("/tasks?status=failed")}`);
  });
});

describe("browser login", () => {
  it("serves a login form", async () => {
    const r = await fetch(`${svc.url}/login?next=/tasks`);
    expect(r.status).toBe(200);
    const html = await r.text();
    expect(html).toContain('<form method="post" action="/login">');
    expect(html).toContain('type="password"');
    expect(html).toContain('value="/tasks"');
  });

  const login = (form: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(`${svc.url}/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams(form).toString(),
      redirect: "manual",
    });

  it("refuses a wrong key and sets no cookie", async () => {
    const r = await login({ key: "wrong", next: "/" });
    expect(r.status).toBe(401);
    expect(r.headers.get("set-cookie")).toBeNull();
    expect(await r.text()).toContain("not valid");
  });

  it("sets an HttpOnly SameSite=Strict cookie that then authorises pages and the API", async () => {
    const r = await login({ key, next: "/tasks" });
    expect(r.status).toBe(303);
    expect(r.headers.get("location")).toBe("/tasks");
    const cookie = r.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^baton_key=/);
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Strict");
    expect(cookie).toContain("Path=/");
    expect(cookie).toMatch(/Max-Age=\d+/);
    expect(cookie).not.toContain("Secure");
    const jar = cookie.split(";")[0];
    expect((await api(svc.url, "GET", "/api/tasks", undefined, { cookie: jar })).status).toBe(200);
    expect((await api(svc.url, "GET", "/openapi.json", undefined, { cookie: jar })).status).toBe(200);
    // A cookie that no longer matches a configured hash is refused like any wrong key.
    expect401(await api(svc.url, "GET", "/api/tasks", undefined, { cookie: `${jar}x` }), "altered cookie");
  });

  it("marks the cookie Secure behind https and never redirects off-site", async () => {
    const r = await login({ key, next: "//evil.example/x" }, { "x-forwarded-proto": "https" });
    expect(r.status).toBe(303);
    expect(r.headers.get("location")).toBe("/");
    expect(r.headers.get("set-cookie")).toContain("Secure");
  });

  it("logs out by clearing the cookie", async () => {
    const r = await fetch(`${svc.url}/logout`, { method: "POST", redirect: "manual" });
    expect(r.status).toBe(303);
    expect(r.headers.get("set-cookie")).toMatch(/^baton_key=;.*Max-Age=0/);
  });
});

describe("security headers", () => {
  it("sends CSP, no framing, nosniff and a referrer policy on pages, API answers and errors", async () => {
    const responses = [
      await fetch(`${svc.url}/login`),
      await fetch(`${svc.url}/docs`, { headers: { authorization: `Bearer ${key}` } }),
      await fetch(`${svc.url}/api/tasks`, { headers: { authorization: `Bearer ${key}` } }),
      await fetch(`${svc.url}/api/tasks`),
      await fetch(`${svc.url}/nope`, { headers: { authorization: `Bearer ${key}` } }),
    ];
    for (const r of responses) {
      const csp = r.headers.get("content-security-policy") ?? "";
      expect(csp, r.url).toContain("frame-ancestors 'none'");
      expect(csp, r.url).toContain("script-src 'self'");
      expect(csp, r.url).not.toMatch(/script-src[^;]*unsafe/);
      expect(r.headers.get("x-frame-options"), r.url).toBe("DENY");
      expect(r.headers.get("x-content-type-options"), r.url).toBe("nosniff");
      expect(r.headers.get("referrer-policy"), r.url).toBe("no-referrer");
      expect(r.headers.get("x-request-id"), r.url).toMatch(/^[\w.-]{1,100}$/);
      await r.body?.cancel();
    }
    // A caller's own request id comes back, on a JSON answer and on a problem answer alike.
    const withId: Record<string, string>[] = [{ authorization: `Bearer ${key}`, "x-request-id": "req-7.a" }, { "x-request-id": "req-7.a" }];
    for (const headers of withId) {
      const r = await fetch(`${svc.url}/api/tasks`, { headers });
      expect(r.headers.get("x-request-id")).toBe("req-7.a");
      await r.body?.cancel();
    }
  });
});

describe("PUBLIC_DASHBOARD=true", () => {
  it("opens only GET of the overview, its event stream and static assets", async () => {
    const pub = await startTestService(tdb.url, { API_KEY_HASHES: hash, PUBLIC_DASHBOARD: "true", WORKER_ENABLED: "false" });
    try {
      for (const p of ["/", "/events", "/assets/baton.js"]) {
        const ac = new AbortController();
        const r = await fetch(pub.url + p, { signal: ac.signal, headers: { accept: "text/html" }, redirect: "manual" });
        expect(r.status, `GET ${p}`).toBe(200);
        ac.abort();
      }
      for (const [m, p] of [
        ["POST", "/"],
        ["GET", "/tasks"],
        ["GET", "/schedules"],
        ["GET", "/api/status"],
        ["GET", "/api/tasks"],
        ["GET", "/metrics"],
        ["POST", "/events"],
      ]) {
        expect401(await api(pub.url, m, p), `${m} ${p}`);
      }
    } finally {
      await pub.stop();
    }
  });
});

describe("no keys", () => {
  it("refuses to listen on a non-loopback address, with a clear message", async () => {
    const proc = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: tdb.url, HOST: "0.0.0.0", PORT: String(await freePort()), LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    proc.stderr.on("data", (d) => {
      stderr += d;
    });
    const code = await new Promise<number | null>((resolve) => proc.on("exit", resolve));
    expect(code, stderr).toBe(1);
    expect(stderr).toContain("refusing to listen on 0.0.0.0 without API keys");
    expect(stderr).toContain("API_KEY_HASHES");
  });
});
