/**
 * Notifications against a real HTTP receiver on 127.0.0.1: exactly one message per permanent
 * failure (whatever caused it: the worker, the bulk status API, plain SQL, two instances), each
 * format's body, retries against a failing receiver, switching off (also of a queued delivery),
 * no loops on the delivery type's own failures, schedule deactivation and the test message.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Service } from "../src/service.js";
import { createTestDb, type TestDb } from "./helpers/db.js";
import { api, startTestService, waitFor } from "./helpers/service.js";

interface Received {
  path: string;
  // biome-ignore lint/suspicious/noExplicitAny: webhook bodies are asserted field by field
  body: any;
  at: number;
}

type Handler = (req: Received, n: number) => Promise<number> | number;

/** A webhook receiver: records every request; per path, a handler picks the status (200 by default). */
async function startReceiver() {
  const requests: Received[] = [];
  const handlers = new Map<string, Handler>();
  const counts = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const path = req.url ?? "/";
      let body: unknown = null;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        body = Buffer.concat(chunks).toString("utf8");
      }
      const r: Received = { path, body, at: Date.now() };
      requests.push(r);
      const n = (counts.get(path) ?? 0) + 1;
      counts.set(path, n);
      const status = await (handlers.get(path)?.(r, n) ?? 200);
      res.writeHead(status, { "content-type": "text/plain" });
      res.end(status < 300 ? "ok" : "nope");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: (path: string) => `${base}${path}`,
    on: (path: string, h: Handler) => handlers.set(path, h),
    at: (path: string) => requests.filter((r) => r.path === path),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

let tdb: TestDb;
let a: Service;
let b: Service | null = null;
let rx: Awaited<ReturnType<typeof startReceiver>>;

const settings = (over: Record<string, unknown>) => ({
  enabled: true,
  format: "slack",
  events: { taskFailed: true, scheduleDeactivated: true, taskCompleted: false },
  maxAttempts: 4,
  backoffBaseMs: 100,
  ...over,
});

async function put(body: unknown) {
  const r = await api(a.url, "PUT", "/api/settings/notifications", body);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
}

/** Deliveries queued for a task (payload.task.id). */
async function deliveriesFor(taskId: number) {
  return tdb.database.sql<{ id: number; status: string; attempts: number; result: unknown }[]>`
    select id, status, attempts, result from baton.tasks
    where type = 'notify' and (payload -> 'task' ->> 'id')::bigint = ${taskId} order by id`;
}

/** Waits until no delivery is pending, processing or retrying. */
async function settled() {
  await waitFor(
    async () => {
      const [r] = await tdb.database.sql<{ n: number }[]>`
        select count(*)::int as n from baton.tasks where type = 'notify' and status not in ('completed', 'failed', 'canceled')`;
      return r.n === 0;
    },
    { timeoutMs: 30_000, what: "deliveries to settle" },
  );
}

async function taskStatus(id: number): Promise<string> {
  return (await api(a.url, "GET", `/api/tasks/${id}`)).body.status;
}

async function failingTask(title: string, base = a.url): Promise<number> {
  const r = await api(base, "POST", "/api/tasks", {
    type: "simulate",
    title,
    maxAttempts: 2,
    backoff: { baseMs: 20, maxMs: 40 },
    payload: { durationMs: 10, failProbability: 1 },
  });
  expect(r.status).toBe(201);
  return r.body.id;
}

/** The first request that arrives on `path`. */
async function first(path: string): Promise<Received> {
  return waitFor(() => rx.at(path)[0], { what: `a request on ${path}` });
}

const mentions = (id: number) => (r: Received) => new RegExp(`\\btask ${id}\\b`).test(JSON.stringify(r.body));

beforeAll(async () => {
  tdb = await createTestDb();
  rx = await startReceiver();
  a = await startTestService(tdb.url, { INSTANCE_ID: "notify-a" });
});
afterAll(async () => {
  await b?.stop();
  await a?.stop();
  await rx?.close();
  await tdb?.drop();
});

describe("settings API", () => {
  it("shows defaults (off) until set, validates, and round-trips", async () => {
    const d = await api(a.url, "GET", "/api/settings/notifications");
    expect(d.status).toBe(200);
    expect(d.body).toMatchObject({ enabled: false, webhookUrl: null, format: "generic", updatedAt: null });
    expect(d.body.events).toEqual({ taskFailed: true, scheduleDeactivated: true, taskCompleted: false });

    const noUrl = await api(a.url, "PUT", "/api/settings/notifications", { enabled: true });
    expect(noUrl.status).toBe(400);
    expect(noUrl.body.errors.map((e: { field: string }) => e.field)).toContain("webhookUrl");
    for (const bad of [{ format: "teams" }, { webhookUrl: "ftp://x/y" }, { events: { taskFailed: "yes" } }, { maxAttempts: 0 }, { surprise: 1 }]) {
      const r = await api(a.url, "PUT", "/api/settings/notifications", bad);
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect(r.headers.get("content-type")).toContain("application/problem+json");
    }

    const saved = await put(settings({ webhookUrl: rx.url("/roundtrip"), enabled: false, format: "discord" }));
    expect(saved.updatedAt).toEqual(expect.any(String));
    const back = await api(a.url, "GET", "/api/settings/notifications");
    expect(back.body).toMatchObject({ enabled: false, webhookUrl: rx.url("/roundtrip"), format: "discord", maxAttempts: 4, backoffBaseMs: 100 });
  });

  it("the test message needs notifications on, then arrives", async () => {
    expect((await api(a.url, "POST", "/api/settings/notifications/test")).status).toBe(409);
    await put(settings({ webhookUrl: rx.url("/test-message"), format: "slack" }));
    const r = await api(a.url, "POST", "/api/settings/notifications/test");
    expect(r.status).toBe(202);
    const msg = await first("/test-message");
    expect(msg.body.text).toMatch(/test notification from instance notify-a/);
    await settled();
  });
});

describe("task failed permanently", () => {
  it("sends exactly one slack message per failure, not one per failed attempt", async () => {
    await put(settings({ webhookUrl: rx.url("/slack"), format: "slack" }));
    const id = await failingTask("Nightly import");
    await waitFor(async () => (await taskStatus(id)) === "failed", { what: "task failed" });
    await waitFor(() => rx.at("/slack").some(mentions(id)), { what: "slack message" });
    await settled();
    const msgs = rx.at("/slack").filter(mentions(id));
    expect(msgs).toHaveLength(1);
    expect(Object.keys(msgs[0].body)).toEqual(["text"]);
    expect(msgs[0].body.text).toMatch(new RegExp(`task ${id} "Nightly import" \\(type simulate\\) failed permanently after 2 of 2 attempts: simulated failure`));
    const rows = await deliveriesFor(id);
    expect(rows.map((r) => r.status)).toEqual(["completed"]);
    expect(rows[0].result).toMatchObject({ delivered: true, format: "slack", status: 200 });
  });

  it("uses each format's body, for failures from the bulk status API and from plain SQL", async () => {
    const held = await api(a.url, "POST", "/api/tasks/batch", {
      tasks: [1, 2, 3].map((i) => ({ type: "noop", title: `held ${i}`, hold: true })),
    });
    const [t1, t2, t3] = held.body.ids as number[];

    await put(settings({ webhookUrl: rx.url("/discord"), format: "discord" }));
    expect((await api(a.url, "POST", "/api/tasks/status", { failed: [t1] })).body.updated).toBe(1);
    const d = await first("/discord");
    expect(Object.keys(d.body)).toEqual(["content"]);
    expect(d.body.content).toMatch(new RegExp(`task ${t1} "held 1" \\(type noop\\) failed permanently`));
    await settled();

    await put(settings({ webhookUrl: rx.url("/feishu"), format: "feishu" }));
    await tdb.database.sql`update baton.tasks set status = 'failed', last_error = 'set by a DBA', finished_at = now() where id = ${t2}`;
    const f = await first("/feishu");
    expect(f.body).toEqual({ msg_type: "text", content: { text: expect.stringMatching(new RegExp(`task ${t2} .* failed permanently.*: set by a DBA`)) } });
    await settled();

    await put(settings({ webhookUrl: rx.url("/generic"), format: "generic" }));
    await api(a.url, "POST", "/api/tasks/status", { failed: [t3] });
    const g = await first("/generic");
    expect(g.body).toMatchObject({ event: "taskFailed", task: { id: t3, type: "noop", title: "held 3", status: "failed" }, text: expect.any(String) });
    expect(Date.parse(g.body.sentAt)).not.toBeNaN();
    await settled();
    for (const p of ["/discord", "/feishu", "/generic"]) expect(rx.at(p)).toHaveLength(1);
  });

  it("is exactly once with two instances sharing the work", async () => {
    b = await startTestService(tdb.url, { INSTANCE_ID: "notify-b" });
    await put(settings({ webhookUrl: rx.url("/two"), format: "generic" }));
    const ids: number[] = [];
    for (let i = 0; i < 6; i++) ids.push(await failingTask(`pair ${i}`, i % 2 ? b.url : a.url));
    await waitFor(async () => (await Promise.all(ids.map(taskStatus))).every((s) => s === "failed"), { what: "all failed" });
    await waitFor(() => ids.every((id) => rx.at("/two").some((r) => r.body.task?.id === id)), { what: "six messages" });
    await settled();
    const got = rx.at("/two").map((r) => r.body.task.id as number);
    expect(got.sort((x, y) => x - y)).toEqual([...ids].sort((x, y) => x - y));
    await b.stop();
    b = null;
  });
});

describe("delivery", () => {
  it("retries a receiver that fails at first (500 twice) and then delivers once", async () => {
    rx.on("/flaky", (_r, n) => (n <= 2 ? 500 : 200));
    await put(settings({ webhookUrl: rx.url("/flaky"), format: "slack", maxAttempts: 5, backoffBaseMs: 100 }));
    const id = await failingTask("flaky receiver");
    await waitFor(async () => (await deliveriesFor(id))[0]?.status === "completed", { what: "delivery completed" });
    const reqs = rx.at("/flaky");
    expect(reqs).toHaveLength(3);
    expect(new Set(reqs.map((r) => JSON.stringify(r.body))).size).toBe(1);
    expect(reqs[0].body.text).toMatch(new RegExp(`task ${id} `));
    const [row] = await deliveriesFor(id);
    expect(row.attempts).toBe(3);
    const logs = (await api(a.url, "GET", `/api/tasks/${row.id}`)).body.logs.map((l: { event: string }) => l.event);
    expect(logs.filter((e: string) => e === "retry_scheduled")).toHaveLength(2);
  });

  it("never notifies about a delivery's own failure (no loops)", async () => {
    rx.on("/reject", () => 400);
    await put(settings({ webhookUrl: rx.url("/reject"), format: "slack" }));
    const id = await failingTask("rejected message");
    await waitFor(async () => (await deliveriesFor(id))[0]?.status === "failed", { what: "delivery failed" });
    await settled();
    expect(rx.at("/reject")).toHaveLength(1); // 4xx is permanent: no retry
    const [{ n }] = await tdb.database.sql<{ n: number }[]>`
      select count(*)::int as n from baton.tasks where type = 'notify' and payload -> 'task' ->> 'type' = 'notify'`;
    expect(n).toBe(0);
  });
});

describe("switching off", () => {
  it("stops a delivery already queued, and queues nothing while off", async () => {
    // The receiver switches notifications off while it answers the first attempt with a 500:
    // the retry then finds them off and completes without sending.
    rx.on("/off", async (_r, n) => {
      if (n === 1) await put(settings({ webhookUrl: rx.url("/off"), enabled: false }));
      return 500;
    });
    await put(settings({ webhookUrl: rx.url("/off"), format: "slack", backoffBaseMs: 100 }));
    const id = await failingTask("switched off");
    await waitFor(async () => (await deliveriesFor(id))[0]?.status === "completed", { what: "delivery finished" });
    const [row] = await deliveriesFor(id);
    expect(row.result).toEqual({ skipped: "notifications are off" });
    expect(row.attempts).toBe(2);
    expect(rx.at("/off")).toHaveLength(1);

    // While off, a failure queues no delivery at all (decided in the failing transaction).
    const later = await failingTask("while off");
    await waitFor(async () => (await taskStatus(later)) === "failed", { what: "task failed" });
    expect(await deliveriesFor(later)).toHaveLength(0);
    expect(rx.at("/off")).toHaveLength(1);
  });
});

describe("other events", () => {
  it("taskCompleted (optional) sends one message per completed task, none for deliveries", async () => {
    await put(settings({ webhookUrl: rx.url("/done"), format: "generic", events: { taskFailed: false, scheduleDeactivated: false, taskCompleted: true } }));
    const r = await api(a.url, "POST", "/api/tasks", { type: "noop", title: "finishes" });
    await waitFor(() => rx.at("/done").some((m) => m.body.task?.id === r.body.id), { what: "completed message" });
    await settled();
    expect(rx.at("/done")).toHaveLength(1);
    expect(rx.at("/done")[0].body).toMatchObject({ event: "taskCompleted", task: { id: r.body.id, status: "completed" } });
    const failed = await failingTask("not selected");
    await waitFor(async () => (await taskStatus(failed)) === "failed", { what: "task failed" });
    expect(await deliveriesFor(failed)).toHaveLength(0);
    await put(settings({ webhookUrl: rx.url("/done"), enabled: false }));
  });

  it("scheduleDeactivated: after failed runs in a row, one message; a one-time schedule that fired sends none", async () => {
    await put(settings({ webhookUrl: rx.url("/schedules"), format: "slack", events: { taskFailed: false, scheduleDeactivated: true, taskCompleted: false } }));
    const s = await api(a.url, "POST", "/api/schedules", {
      name: "always-fails",
      type: "simulate",
      payload: { durationMs: 1, failProbability: 1 },
      trigger: { kind: "cron", expression: "0 0 1 1 *", timezone: "UTC" },
      deactivateAfterFailures: 1,
    });
    expect(s.status, JSON.stringify(s.body)).toBe(201);
    expect((await api(a.url, "POST", `/api/schedules/${s.body.id}/trigger`)).status).toBeLessThan(300);
    await waitFor(() => rx.at("/schedules").length > 0, { what: "schedule message" });
    expect(rx.at("/schedules")[0].body.text).toMatch(/schedule "always-fails" was deactivated: 1 firing\(s\) in a row ended failed/);

    // Written directly: a one-time schedule finishing after its firing is not a deactivation.
    const [once] = await tdb.database.sql<{ id: number }[]>`
      insert into baton.schedules (name, type, trigger, next_run_at)
      values ('once-only', 'noop', ${tdb.database.sql.json({ kind: "once", at: "2030-01-01T00:00:00Z" })}, '2030-01-01T00:00:00Z') returning id`;
    await tdb.database.sql`update baton.schedules set status = 'inactive', last_run_at = now(), next_run_at = null,
      deactivated_reason = 'one-time trigger fired' where id = ${once.id}`;
    await settled();
    const [{ n }] = await tdb.database.sql<{ n: number }[]>`
      select count(*)::int as n from baton.tasks where type = 'notify' and payload -> 'schedule' ->> 'name' = 'once-only'`;
    expect(n).toBe(0);
    expect(rx.at("/schedules")).toHaveLength(1);
  });
});
