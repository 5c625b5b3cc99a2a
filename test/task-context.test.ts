/**
 * What a handler gets from its service. Two services in one process, each with its own
 * OUTBOUND_DENY, each apply their own policy (the outbound client is per service, not
 * module-global).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Service } from "../src/service.js";
import { createTestDb, type TestDb } from "./helpers/db.js";
import { api, startTestService, waitFor } from "./helpers/service.js";

let target: http.Server;
let targetUrl: string;
const hits: string[] = [];
let dbA: TestDb;
let dbB: TestDb;
let open: Service; // default policy: loopback allowed
let closed: Service; // OUTBOUND_DENY=127.0.0.0/8

beforeAll(async () => {
  target = http.createServer((req, res) => {
    hits.push(req.url ?? "");
    res.end("ok");
  });
  await new Promise<void>((r) => target.listen(0, "127.0.0.1", r));
  targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
  [dbA, dbB] = await Promise.all([createTestDb(), createTestDb()]);
  open = await startTestService(dbA.url, { INSTANCE_ID: "ctx-open", SCHEDULER_ENABLED: "false" });
  closed = await startTestService(dbB.url, { INSTANCE_ID: "ctx-closed", SCHEDULER_ENABLED: "false", OUTBOUND_DENY: "127.0.0.0/8" });
});
afterAll(async () => {
  await closed?.stop();
  await open?.stop();
  await new Promise((r) => target?.close(r));
  await Promise.all([dbA?.drop(), dbB?.drop()]);
});

async function runTask(base: string, body: Record<string, unknown>) {
  const r = await api(base, "POST", "/api/tasks", { maxAttempts: 1, ...body });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return waitFor(
    async () => {
      const t = await api(base, "GET", `/api/tasks/${r.body.id}`);
      return ["completed", "failed"].includes(t.body.status) ? t.body : null;
    },
    { what: `task ${r.body.id}` },
  );
}

describe("the outbound client belongs to its service", () => {
  it("two in-process services keep their own OUTBOUND_DENY, whichever started last", async () => {
    const [a, b] = await Promise.all([
      runTask(open.url, { type: "http", payload: { url: `${targetUrl}/from-open`, method: "GET" } }),
      runTask(closed.url, { type: "http", payload: { url: `${targetUrl}/from-closed`, method: "GET" } }),
    ]);
    expect(a.status).toBe("completed");
    expect(b.status).toBe("failed");
    expect(b.lastError).toContain("denied by OUTBOUND_DENY");
    expect(hits).toContain("/from-open");
    expect(hits).not.toContain("/from-closed");
  });
});
