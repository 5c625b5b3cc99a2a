/**
 * The `http` task type end to end (API → worker → real HTTP servers on loopback → task row):
 * 2xx succeeds; 5xx, 408, 429 and network errors retry, honouring Retry-After; other 4xx fail at
 * once; status and a bounded body excerpt land in result or lastError; the response size cap and
 * the total timeout hold; OUTBOUND_ALLOW restricts where a service's tasks may call.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Service } from "../src/service.js";
import { EXCERPT_CHARS } from "../src/worker/types/http.js";
import { createTestDb, type TestDb } from "./helpers/db.js";
import { streamForever } from "./helpers/http.js";
import { freePort } from "./helpers/process.js";
import { api, startTestService, waitFor } from "./helpers/service.js";

type Route = (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void;

/** A server on `host` answering each path with its route; counts requests per path. */
async function receiver(host: string) {
  const routes = new Map<string, Route>();
  const counts = new Map<string, number>();
  const heard: { path: string; headers: http.IncomingHttpHeaders }[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const path = (req.url ?? "/").split("?")[0];
      const n = (counts.get(path) ?? 0) + 1;
      counts.set(path, n);
      heard.push({ path, headers: req.headers });
      (routes.get(path) ?? ((_q, r) => r.end("ok")))(req, res, n);
    });
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  const origin = `http://${host}:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    url: (path: string) => `${origin}${path}`,
    on: (path: string, r: Route) => routes.set(path, r),
    hits: (path: string) => counts.get(path) ?? 0,
    heard,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

let tdb: TestDb;
let svc: Service;
let rx: Awaited<ReturnType<typeof receiver>>;
let rx2: Awaited<ReturnType<typeof receiver>>; // 127.0.0.2: another origin, another address

beforeAll(async () => {
  [rx, rx2] = await Promise.all([receiver("127.0.0.1"), receiver("127.0.0.2")]);
  tdb = await createTestDb();
  svc = await startTestService(tdb.url, { SCHEDULER_ENABLED: "false" });
});
afterAll(async () => {
  await svc?.stop();
  await Promise.all([rx?.close(), rx2?.close()]);
  await tdb?.drop();
});

async function create(base: string, payload: Record<string, unknown>, over: Record<string, unknown> = {}): Promise<number> {
  const r = await api(base, "POST", "/api/tasks", { type: "http", maxAttempts: 3, backoff: { baseMs: 50, maxMs: 60_000 }, payload: { method: "GET", ...payload }, ...over });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.id;
}

async function finished(id: number, base = svc.url) {
  return waitFor(
    async () => {
      const t = await api(base, "GET", `/api/tasks/${id}`);
      return ["completed", "failed"].includes(t.body.status) ? t.body : null;
    },
    { what: `task ${id} to finish` },
  );
}

const run = async (payload: Record<string, unknown>, over: Record<string, unknown> = {}) => finished(await create(svc.url, payload, over));

/** The outcome log rows of a task, oldest first. */
async function logRows(id: number) {
  return tdb.database.sql<{ event: string; attempt: number; createdAt: Date; startedAt: Date | null }[]>`
    select event, attempt, created_at as "createdAt", started_at as "startedAt" from baton.task_logs where task_id = ${id} order by id`;
}

describe("status codes", () => {
  it("2xx succeeds with the status and the body in the result", async () => {
    rx.on("/created", (_q, res) => {
      res.writeHead(201, { "content-type": "application/json" });
      res.end('{"queued":true}');
    });
    const t = await run({ url: rx.url("/created"), method: "POST", body: { hello: "world" } });
    expect(t.status).toBe("completed");
    expect(t.attempts).toBe(1);
    expect(t.result).toEqual({ status: 201, body: '{"queued":true}', truncated: false });
  });

  for (const status of [500, 503, 408, 429]) {
    it(`${status} fails the attempt and retries`, async () => {
      const path = `/flaky-${status}`;
      rx.on(path, (_q, res, n) => {
        res.writeHead(n === 1 ? status : 200);
        res.end(n === 1 ? `try again (${status})` : "fine now");
      });
      const t = await run({ url: rx.url(path) });
      expect(t.status).toBe("completed");
      expect(t.attempts).toBe(2);
      expect(rx.hits(path)).toBe(2);
      expect((await logRows(t.id)).map((l) => l.event)).toEqual(["retry_scheduled", "succeeded"]);
    });
  }

  it("5xx on every attempt fails with the last status and body excerpt", async () => {
    rx.on("/down", (_q, res) => {
      res.writeHead(502);
      res.end("bad gateway upstream");
    });
    const t = await run({ url: rx.url("/down") }, { maxAttempts: 2 });
    expect(t.status).toBe("failed");
    expect(t.attempts).toBe(2);
    expect(t.lastError).toBe("HTTP 502: bad gateway upstream");
  });

  for (const status of [400, 401, 404, 422]) {
    it(`${status} fails at once, attempts left or not`, async () => {
      const path = `/reject-${status}`;
      rx.on(path, (_q, res) => {
        res.writeHead(status);
        res.end(`rejected with ${status}`);
      });
      const t = await run({ url: rx.url(path) }, { maxAttempts: 5 });
      expect(t.status).toBe("failed");
      expect(t.attempts).toBe(1);
      expect(t.lastError).toBe(`HTTP ${status}: rejected with ${status}`);
      expect(rx.hits(path)).toBe(1);
    });
  }
});

describe("Retry-After", () => {
  /** Gap between the retry_scheduled row of attempt 1 and the start of attempt 2 (on its outcome row), in ms. */
  async function retryGap(id: number): Promise<number> {
    const rows = await logRows(id);
    const scheduled = rows.find((r) => r.event === "retry_scheduled" && r.attempt === 1)!;
    const next = rows.find((r) => r.event === "succeeded" && r.attempt === 2)!;
    return next.startedAt!.getTime() - scheduled.createdAt.getTime();
  }

  it("in seconds delays the retry past the backoff (429)", async () => {
    rx.on("/slow-down", (_q, res, n) => {
      res.writeHead(n === 1 ? 429 : 200, n === 1 ? { "retry-after": "1" } : {});
      res.end(n === 1 ? "slow down" : "ok");
    });
    const t = await run({ url: rx.url("/slow-down") });
    expect(t.status).toBe("completed");
    expect(t.attempts).toBe(2);
    // The backoff alone would be 25-50 ms; attempt 2 cannot start before run_at = now() + 1 s.
    expect(await retryGap(t.id)).toBeGreaterThanOrEqual(1000);
  });

  it("as an HTTP date delays the retry too (503)", async () => {
    rx.on("/maintenance", (_q, res, n) => {
      // HTTP dates have whole seconds: two seconds ahead is at least one second away.
      res.writeHead(n === 1 ? 503 : 200, n === 1 ? { "retry-after": new Date(Date.now() + 2000).toUTCString() } : {});
      res.end(n === 1 ? "maintenance" : "ok");
    });
    const t = await run({ url: rx.url("/maintenance") });
    expect(t.status).toBe("completed");
    expect(await retryGap(t.id)).toBeGreaterThanOrEqual(1000);
  });
});

describe("network errors", () => {
  it("connection refused retries, then fails with the error", async () => {
    const port = await freePort(); // nothing listens there any more
    const t = await run({ url: `http://127.0.0.1:${port}/nobody` }, { maxAttempts: 2 });
    expect(t.status).toBe("failed");
    expect(t.attempts).toBe(2);
    expect(t.lastError).toMatch(/^request failed: .*ECONNREFUSED/);
  });

  it("a connection dropped mid-response retries", async () => {
    rx.on("/hangup", (_q, res, n) => {
      if (n === 1) {
        res.writeHead(200, { "content-length": "100" });
        res.write("partial");
        res.socket?.destroy();
        return;
      }
      res.end("whole");
    });
    const t = await run({ url: rx.url("/hangup") });
    expect(t.status).toBe("completed");
    expect(t.attempts).toBe(2);
    expect(t.result.body).toBe("whole");
  });

  it("a request undici refuses to send (a keep-alive header) fails at once", async () => {
    const t = await run({ url: rx.url("/never"), headers: { "keep-alive": "timeout=5" } }, { maxAttempts: 3 });
    expect(t.status).toBe("failed");
    expect(t.attempts).toBe(1);
    expect(t.lastError).toMatch(/^request refused: /);
    expect(rx.hits("/never")).toBe(0);
  });
});

describe("body excerpt and size cap", () => {
  it("keeps only the first EXCERPT_CHARS of a long error body in lastError", async () => {
    const long = `${"e".repeat(EXCERPT_CHARS)}TAIL-NOT-KEPT`;
    rx.on("/long-error", (_q, res) => {
      res.writeHead(404);
      res.end(long);
    });
    const t = await run({ url: rx.url("/long-error") });
    expect(t.status).toBe("failed");
    expect(t.lastError).toBe(`HTTP 404: ${"e".repeat(EXCERPT_CHARS)}…`);
  });

  it("keeps only the first EXCERPT_CHARS of a long success body, marked truncated", async () => {
    rx.on("/long-ok", (_q, res) => res.end("k".repeat(100_000)));
    const t = await run({ url: rx.url("/long-ok") });
    expect(t.status).toBe("completed");
    expect(t.result).toEqual({ status: 200, body: "k".repeat(EXCERPT_CHARS), truncated: true });
  });

  it("stops reading a body that never ends, and still completes", async () => {
    let closed = false;
    rx.on("/endless", (_q, res) =>
      streamForever(res, "z", () => {
        closed = true;
      }),
    );
    const t = await run({ url: rx.url("/endless") });
    expect(t.status).toBe("completed");
    expect(t.result).toMatchObject({ status: 200, truncated: true });
    expect(t.result.body).toBe("z".repeat(EXCERPT_CHARS));
    await waitFor(() => closed, { what: "the endless response to be cut off" });
  });
});

describe("timeouts", () => {
  it("the total timeout fails a call the server never answers, and retries it", async () => {
    rx.on("/silent", () => {}); // never responds
    const t = await run({ url: rx.url("/silent"), timeoutMs: 300 }, { maxAttempts: 2 });
    expect(t.status).toBe("failed");
    expect(t.attempts).toBe(2);
    expect(t.lastError).toBe("request failed: timed out after 300 ms");
    expect(rx.hits("/silent")).toBe(2);
  });
});

describe("redirects", () => {
  it("a redirect to another origin does not carry Authorization or the headers marked secret", async () => {
    rx.on("/moved", (_q, res) => {
      res.writeHead(307, { location: rx2.url("/landing") });
      res.end();
    });
    const t = await run({
      url: rx.url("/moved"),
      headers: { authorization: "Bearer t0k3n", "x-signature": "s3cret", "x-request": "plain" },
      secretHeaders: ["X-Signature"],
    });
    expect(t.status).toBe("completed");
    const landed = rx2.heard.filter((h) => h.path === "/landing");
    expect(landed).toHaveLength(1);
    expect(landed[0].headers.authorization).toBeUndefined();
    expect(landed[0].headers["x-signature"]).toBeUndefined();
    expect(landed[0].headers["x-request"]).toBe("plain");
    expect(rx.heard.find((h) => h.path === "/moved")?.headers).toMatchObject({ authorization: "Bearer t0k3n", "x-signature": "s3cret" });
  });
});

describe("OUTBOUND_ALLOW", () => {
  let own: TestDb;
  let allowed: Service;
  beforeAll(async () => {
    own = await createTestDb();
    allowed = await startTestService(own.url, { INSTANCE_ID: "http-allow", SCHEDULER_ENABLED: "false", OUTBOUND_ALLOW: "127.0.0.2" });
  });
  afterAll(async () => {
    await allowed?.stop();
    await own?.drop();
  });

  it("reaches the listed address and refuses every other one at once, even by redirect", async () => {
    rx2.on("/welcome", (_q, res) => res.end("welcome"));
    rx2.on("/bounce", (_q, res) => {
      res.writeHead(302, { location: rx.url("/outside") });
      res.end();
    });
    const ok = await finished(await create(allowed.url, { url: rx2.url("/welcome") }), allowed.url);
    expect(ok.status).toBe("completed");
    expect(ok.result.body).toBe("welcome");

    const direct = await finished(await create(allowed.url, { url: rx.url("/outside") }), allowed.url);
    const bounced = await finished(await create(allowed.url, { url: rx2.url("/bounce") }), allowed.url);
    for (const t of [direct, bounced]) {
      expect(t.status).toBe("failed");
      expect(t.attempts).toBe(1);
      expect(t.lastError).toMatch(/destination 127\.0\.0\.1 \(127\.0\.0\.1\) is not in OUTBOUND_ALLOW/);
    }
    expect(rx.hits("/outside")).toBe(0);
    expect(rx2.hits("/bounce")).toBe(1);
  });
});
