/**
 * What a handler gets from its service. Two services in one process, each with its own
 * OUTBOUND_DENY, each apply their own policy (the outbound client is per service, not
 * module-global). A handler's ctx has no database handle, and ctx.conversations.update reaches
 * only the task's own conversations.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { Service } from "../src/service.js";
import { registerTaskType } from "../src/worker/registry.js";
import { createTestDb, type TestDb } from "./helpers/db.js";
import { api, startTestService, waitFor } from "./helpers/service.js";

// Tries to rewrite one conversation by id, and reports what its ctx offers.
registerTaskType({
  name: "test.ctx-probe",
  description: "test: updates a conversation by id through ctx",
  params: z.object({ conversationId: z.number().int().optional().describe("default: the task's first conversation"), content: z.string() }),
  handler: async (p, ctx) => {
    const keys = Object.keys(ctx).sort();
    const id = p.conversationId ?? (await ctx.conversations.list())[0].id;
    const updated = await ctx.conversations.update(id, { content: p.content, status: "touched" });
    return { keys, updated: { id: updated.id, content: updated.content } };
  },
});

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

describe("a handler's ctx", () => {
  async function taskWithConversation(content: string) {
    const r = await api(open.url, "POST", "/api/tasks", { type: "noop", hold: true, conversations: [{ content }] });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const t = await api(open.url, "GET", `/api/tasks/${r.body.id}`);
    return { taskId: r.body.id as number, conversation: t.body.conversations[0] as { id: number; content: string; status: string; updatedAt: string } };
  }

  it("has no database handle, and updates the task's own conversation", async () => {
    const done = await runTask(open.url, { type: "test.ctx-probe", payload: { content: "after" }, conversations: [{ content: "before" }] });
    expect(done.status, done.lastError).toBe("completed");
    expect(done.result.keys).toEqual(["attempt", "conversations", "instanceId", "log", "outbound", "parents", "progress", "signal", "task"]);
    expect(done.conversations[0]).toMatchObject({ id: done.result.updated.id, content: "after", status: "touched" });
  });

  it("cannot update another task's conversation: the attempt fails and that conversation is unchanged", async () => {
    const victim = await taskWithConversation("do not touch");
    const done = await runTask(open.url, { type: "test.ctx-probe", payload: { conversationId: victim.conversation.id, content: "hijacked" } });
    expect(done.status).toBe("failed");
    expect(done.lastError).toMatch(new RegExp(`conversation ${victim.conversation.id}.*not found`, "i"));
    const after = await api(open.url, "GET", `/api/tasks/${victim.taskId}`);
    expect(after.body.conversations).toHaveLength(1);
    expect(after.body.conversations[0]).toMatchObject({ id: victim.conversation.id, content: "do not touch", status: victim.conversation.status });
    expect(after.body.conversations[0].updatedAt).toBe(victim.conversation.updatedAt);
  });
});
