/**
 * SSRF: an http task aimed at the cloud metadata address (in any spelling), or at a local URL that
 * redirects there, fails at its first attempt with a lastError naming the denial, is not retried,
 * and never opens a connection to that address. With OUTBOUND_DENY=127.0.0.0/8 (a real process),
 * loopback targets are refused and the local server receives nothing.
 *
 * No test here contacts a non-loopback address: denied destinations are refused before any socket
 * is opened, which is exactly what the connect spy asserts.
 */
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Service } from "../src/service.js";
import { createTestDb, type TestDb } from "./helpers/db.js";
import { type Instance, spawnInstance } from "./helpers/process.js";
import { api, startTestService, waitFor } from "./helpers/service.js";

let tdb: TestDb;
let svc: Service;
let target: http.Server;
let targetUrl: string;
const hits: string[] = [];

// Every socket connect made in this process (the in-process worker's outbound calls included).
const connects: string[] = [];
const realConnect = net.Socket.prototype.connect;

beforeAll(async () => {
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
    const o = args[0];
    connects.push(typeof o === "object" && o !== null ? String((o as { host?: string; path?: string }).host ?? (o as { path?: string }).path) : String(args[1] ?? o));
    return (realConnect as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof realConnect;
  target = http.createServer((req, res) => {
    hits.push(req.url ?? "");
    if (req.url?.startsWith("/redirect")) {
      res.writeHead(302, { location: "http://169.254.169.254/latest/meta-data/iam/security-credentials/" });
      res.end();
      return;
    }
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("ok");
  });
  await new Promise<void>((r) => target.listen(0, "127.0.0.1", r));
  targetUrl = `http://127.0.0.1:${(target.address() as net.AddressInfo).port}`;
  tdb = await createTestDb();
  svc = await startTestService(tdb.url, { SCHEDULER_ENABLED: "false" });
});
afterAll(async () => {
  net.Socket.prototype.connect = realConnect;
  await svc?.stop();
  await new Promise((r) => target?.close(r));
  await tdb?.drop();
});

async function runHttpTask(base: string, url: string) {
  const r = await api(base, "POST", "/api/tasks", { type: "http", maxAttempts: 3, backoff: { baseMs: 50, maxMs: 100 }, payload: { url, method: "GET" } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return waitFor(
    async () => {
      const t = await api(base, "GET", `/api/tasks/${r.body.id}`);
      return ["completed", "failed"].includes(t.body.status) ? t.body : null;
    },
    { timeoutMs: 30_000, what: `task for ${url}` },
  );
}

const METADATA_SPELLINGS = [
  "http://169.254.169.254/latest/meta-data/",
  "http://2852039166/latest/meta-data/",
  "http://0xa9.0xfe.0xa9.0xfe/",
  "http://0251.0376.0251.0376/",
  "http://169.254.169.254./",
  "http://[::ffff:169.254.169.254]/",
  "http://[::ffff:a9fe:a9fe]/",
  "http://[64:ff9b::a9fe:a9fe]/",
  "http://[fd00:ec2::254]/",
  "https://169.254.169.254/",
];

function expectDeniedOnce(task: { status: string; attempts: number; lastError: string; logs: { event: string }[] }, what: string) {
  expect(task.status, what).toBe("failed");
  expect(task.attempts, what).toBe(1);
  expect(task.lastError, what).toMatch(/always denied/);
  expect(task.logs.map((l) => l.event).sort(), what).toEqual(["failed"]);
}

describe("metadata and link-local addresses", () => {
  it("fails at once, without retry, for every spelling of 169.254.169.254", async () => {
    const tasks = await Promise.all(METADATA_SPELLINGS.map((u) => runHttpTask(svc.url, u)));
    for (const [i, t] of tasks.entries()) expectDeniedOnce(t, METADATA_SPELLINGS[i]);
    expect(tasks[0].lastError).toContain("169.254.169.254");
  });

  it("fails a redirect to the metadata address the same way, asking the local server once", async () => {
    const before = hits.length;
    const task = await runHttpTask(svc.url, `${targetUrl}/redirect`);
    expectDeniedOnce(task, "redirect");
    expect(task.lastError).toContain("169.254.169.254");
    expect(hits.slice(before)).toEqual(["/redirect"]);
  });

  it("never opened a socket to a denied address", () => {
    expect(connects.length).toBeGreaterThan(0); // the spy works: the redirect server was reached
    expect(connects.some((h) => h.startsWith("127.0.0.1"))).toBe(true);
    const denied = connects.filter((h) => /169\.254|a9fe|fd00:ec2|2852039166|0xa9|0251/i.test(h));
    expect(denied).toEqual([]);
  });

  it("still reaches an allowed loopback target (the default policy denies only what it must)", async () => {
    const task = await runHttpTask(svc.url, `${targetUrl}/plain`);
    expect(task.status).toBe("completed");
    expect(task.attempts).toBe(1);
  });
});

describe("OUTBOUND_DENY=127.0.0.0/8 (a real process)", () => {
  let inst: Instance;
  let own: TestDb; // its own database, so the in-process worker above cannot claim its tasks
  beforeAll(async () => {
    own = await createTestDb();
    inst = await spawnInstance(own.url, `ssrf-deny-${process.pid}`, { OUTBOUND_DENY: "127.0.0.0/8", SCHEDULER_ENABLED: "false" });
  });
  afterAll(async () => {
    await inst?.stop();
    await own?.drop();
  });

  it("refuses loopback targets, by address and by name, and sends them nothing", async () => {
    const before = hits.length;
    const urls = [`${targetUrl}/denied`, `http://localhost:${new URL(targetUrl).port}/denied`, `http://[::ffff:127.0.0.1]:${new URL(targetUrl).port}/denied`, `http://127.1:${new URL(targetUrl).port}/denied`];
    const tasks = await Promise.all(urls.map((u) => runHttpTask(inst.url, u)));
    tasks.forEach((t, i) => {
      expect(t.status, urls[i]).toBe("failed");
      expect(t.attempts, urls[i]).toBe(1);
      expect(t.lastError, urls[i]).toContain("denied by OUTBOUND_DENY");
    });
    expect(hits.slice(before)).toEqual([]);
  });

  it("started without keys on loopback, and said so", () => {
    const log = readFileSync(path.resolve(import.meta.dirname, "..", "test-artifacts", `ssrf-deny-${process.pid}.log`), "utf8");
    expect(log).toContain("no API_KEY_HASHES configured");
  });
});
