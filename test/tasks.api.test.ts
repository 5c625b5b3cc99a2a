/** The task API in-process against real Postgres: shapes, pagination, bad input, batch, dedupe. */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertTasks } from "../src/db/queries/tasks.js";
import type { Service } from "../src/service.js";
import { createTestDb, type TestDb } from "./helpers/db.js";
import { api, startTestService, waitFor } from "./helpers/service.js";

let tdb: TestDb;
let svc: Service;

// The worker is off: these tests look at rows as the API leaves them.
beforeAll(async () => {
  tdb = await createTestDb();
  svc = await startTestService(tdb.url, { WORKER_ENABLED: "false", MAX_BODY_BYTES: "200000" });
});
afterAll(async () => {
  await svc?.stop();
  await tdb?.drop();
});

async function snapshot() {
  const { rows } = await sql<{ tasks: number; convs: number; logs: number; jobs: number; sum: string | null }>`
    select (select count(*) from baton.tasks)::int as tasks,
           (select count(*) from baton.conversations)::int as convs,
           (select count(*) from baton.task_logs)::int as logs,
           (select count(*) from graphile_worker.jobs)::int as jobs,
           (select md5(string_agg(t::text, ',' order by id)) from baton.tasks t) as sum`.execute(tdb.database.db);
  return rows[0];
}

async function jobsFor(id: number) {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from graphile_worker.jobs where key = ${`baton:${id}`}`.execute(tdb.database.db);
  return rows[0].n;
}

describe("create and read", () => {
  it("creates a task with the documented shape and one job", async () => {
    const r = await api(svc.url, "POST", "/api/tasks", {
      type: "simulate",
      title: "Process customer feedback",
      description: "from the tour",
      payload: { durationMs: 10 },
      priority: 9,
      queue: "customer-42",
      maxAttempts: 5,
      backoff: { baseMs: 1000, maxMs: 60000 },
      timeoutMs: 30000,
      conversations: [{ content: "Customer says the app is slow" }],
    });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      type: "simulate",
      title: "Process customer feedback",
      status: "pending",
      priority: 9,
      queue: "customer-42",
      attempts: 0,
      maxAttempts: 5,
      lastError: null,
      result: null,
      lockedBy: null,
      scheduleId: null,
      startedAt: null,
      finishedAt: null,
    });
    expect(typeof r.body.id).toBe("number");
    expect(await jobsFor(r.body.id)).toBe(1);
    const { rows } = await sql<{ priority: number; queue_name: string }>`
      select priority, queue_name from graphile_worker.jobs where key = ${`baton:${r.body.id}`}`.execute(tdb.database.db);
    expect(rows[0]).toEqual({ priority: -9, queueName: "customer-42" });

    const d = await api(svc.url, "GET", `/api/tasks/${r.body.id}`);
    expect(d.status).toBe(200);
    expect(d.body.conversations).toHaveLength(1);
    expect(d.body.conversations[0]).toMatchObject({ content: "Customer says the app is slow", status: "pending", role: "user" });
  });

  it("hold: true creates a backlog task with no job", async () => {
    const r = await api(svc.url, "POST", "/api/tasks", { type: "noop", hold: true });
    expect(r.body.status).toBe("backlog");
    expect(await jobsFor(r.body.id)).toBe(0);
  });

  it("a duplicate dedupeKey is a 409 naming the existing task", async () => {
    const a = await api(svc.url, "POST", "/api/tasks", { type: "noop", dedupeKey: "CUST-001" });
    const b = await api(svc.url, "POST", "/api/tasks", { type: "noop", dedupeKey: "CUST-001" });
    expect(a.status).toBe(201);
    expect(b.status).toBe(409);
    expect(b.headers.get("content-type")).toContain("application/problem+json");
    expect(b.body.existingId).toBe(a.body.id);
  });

  it("concurrent single creates each get their own committed id", async () => {
    const rs = await Promise.all(Array.from({ length: 40 }, (_, i) => api(svc.url, "POST", "/api/tasks", { type: "noop", title: `c${i}` })));
    const ids = rs.map((r) => r.body.id);
    expect(rs.every((r) => r.status === 201)).toBe(true);
    expect(new Set(ids).size).toBe(40);
    for (const r of rs) {
      const g = await api(svc.url, "GET", `/api/tasks/${r.body.id}`);
      expect(g.body.title).toBe(r.body.title);
    }
  });
});

describe("batch", () => {
  it("takes 10,000 tasks in one request; the same request again is all duplicates", async () => {
    const tasks = Array.from({ length: 10_000 }, (_, i) => ({ type: "noop", dedupeKey: `bulk-${i}`, hold: true }));
    const big = await api(svc.url, "POST", "/api/tasks/batch", { tasks });
    // MAX_BODY_BYTES is small in this file; the batch body is ~500 kB, so use a dedicated service.
    expect(big.status).toBe(413);
    const svc2 = await startTestService(tdb.url, { WORKER_ENABLED: "false" });
    try {
      const first = await api(svc2.url, "POST", "/api/tasks/batch", { tasks });
      expect(first.status).toBe(200);
      expect(first.body.created).toBe(10_000);
      expect(first.body.duplicates).toBe(0);
      expect(first.body.ids).toHaveLength(10_000);
      const again = await api(svc2.url, "POST", "/api/tasks/batch", { tasks });
      expect(again.body).toEqual({ created: 0, duplicates: 10_000, ids: [] });
    } finally {
      await svc2.stop();
    }
  });

  it("dedupe: content counts identical type + payload as duplicates, whatever the key order", async () => {
    const r = await api(svc.url, "POST", "/api/tasks/batch", {
      dedupe: "content",
      tasks: [
        { type: "noop", payload: { a: 1, b: [1, 2] } },
        { type: "noop", payload: { b: [1, 2], a: 1 } },
        { type: "noop", payload: { a: 2 } },
      ],
    });
    expect(r.body.created).toBe(2);
    expect(r.body.duplicates).toBe(1);
  });

  it("pending batch tasks each get exactly one job; backlog ones none", async () => {
    const r = await api(svc.url, "POST", "/api/tasks/batch", {
      tasks: [{ type: "noop" }, { type: "noop", hold: true }, { type: "noop", runAt: "2030-01-01T00:00:00Z" }],
    });
    const [a, b, c] = r.body.ids;
    expect([await jobsFor(a), await jobsFor(b), await jobsFor(c)]).toEqual([1, 0, 1]);
  });
});

describe("transactional enqueue", () => {
  it("a create whose transaction fails leaves neither a task nor a job", async () => {
    const before = await snapshot();
    await expect(
      tdb.database.db.transaction().execute(async (trx) => {
        const r = await insertTasks(trx, [{ type: "noop", title: "doomed" }]);
        expect(r.created).toBe(1);
        throw new Error("caller fails after the insert");
      }),
    ).rejects.toThrow("caller fails");
    expect(await snapshot()).toEqual(before);
  });

  it("a failing statement (bad conversation) rolls back the task and its job", async () => {
    const before = await snapshot();
    // content null violates NOT NULL inside the same statement that inserts the task and job
    await expect(insertTasks(tdb.database.db, [{ type: "noop", conversations: [{ content: null as unknown as string }] }])).rejects.toThrow();
    expect(await snapshot()).toEqual(before);
  });
});

describe("list", () => {
  it("filters, searches, paginates with a keyset cursor and reports the total", async () => {
    // Priorities 0..4, five tasks each: sorting by priority has ties that only the id breaks.
    const made = await api(svc.url, "POST", "/api/tasks/batch", {
      tasks: Array.from({ length: 25 }, (_, i) => ({ type: "simulate", title: `Weekly report ${i} 100%_done`, priority: i % 5, hold: true, payload: { durationMs: 1 } })),
    });
    expect(made.body.created).toBe(25);
    const ids: number[] = made.body.ids;
    const walk = async (query: string) => {
      const pages: number[][] = [];
      let cursor: string | null = null;
      let total = -1;
      do {
        const r = await api(svc.url, "GET", `/api/tasks?${query}&limit=10${cursor ? `&cursor=${cursor}` : ""}`);
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        total = r.body.total;
        pages.push(r.body.items.map((t: { id: number; priority: number }) => t.id));
        cursor = r.body.nextCursor;
      } while (cursor);
      return { pages, seen: pages.flat(), total };
    };

    const byId = await walk("type=simulate&search=report");
    expect(byId.total).toBe(25);
    expect(byId.pages.map((p) => p.length)).toEqual([10, 10, 5]);
    // every created task exactly once, newest first
    expect(new Set(byId.seen).size).toBe(25);
    expect(byId.seen).toEqual([...ids].sort((a, b) => b - a));

    const prio = new Map(ids.map((id, i) => [id, i % 5]));
    const byPriority = await walk("type=simulate&search=report&sort=priority&order=desc");
    expect(new Set(byPriority.seen).size).toBe(25);
    expect(byPriority.seen).toEqual([...ids].sort((a, b) => (prio.get(b) ?? 0) - (prio.get(a) ?? 0) || b - a));

    // LIKE wildcards in the search are literal
    const lit = await api(svc.url, "GET", "/api/tasks?search=100%25_done&limit=1");
    expect(lit.body.total).toBe(25);
    const none = await api(svc.url, "GET", "/api/tasks?search=100%25Xdone");
    expect(none.body.total).toBe(0);
  });

  it("rejects a limit above 1000 and an unknown status", async () => {
    const r = await api(svc.url, "GET", "/api/tasks?limit=1001");
    expect(r.status).toBe(400);
    expect(r.body.errors[0].field).toBe("query.limit");
    const s = await api(svc.url, "GET", "/api/tasks?status=running");
    expect(s.status).toBe(400);
    expect(s.body.detail).toContain("status");
  });
});

describe("edit, delete, cancel, retry, bulk status", () => {
  it("PATCH edits a pending task and moves its job", async () => {
    const t = await api(svc.url, "POST", "/api/tasks", { type: "noop" });
    const p = await api(svc.url, "PATCH", `/api/tasks/${t.body.id}`, { priority: 5, title: "renamed", runAt: "2031-01-01T00:00:00Z" });
    expect(p.status).toBe(200);
    expect(p.body).toMatchObject({ priority: 5, title: "renamed", runAt: "2031-01-01T00:00:00.000Z" });
    const { rows } = await sql<{ priority: number; runAt: Date }>`select priority, run_at from graphile_worker.jobs where key = ${`baton:${t.body.id}`}`.execute(tdb.database.db);
    expect(rows).toHaveLength(1);
    expect(rows[0].priority).toBe(-5);
    expect(new Date(rows[0].runAt).toISOString()).toBe("2031-01-01T00:00:00.000Z");
  });

  it("cancel pending → canceled with no job; cancel again → 409; retry → pending with a job", async () => {
    const t = await api(svc.url, "POST", "/api/tasks", { type: "noop" });
    const c = await api(svc.url, "POST", `/api/tasks/${t.body.id}/cancel`);
    expect(c.status).toBe(200);
    expect(c.body.status).toBe("canceled");
    expect(await jobsFor(t.body.id)).toBe(0);
    const again = await api(svc.url, "POST", `/api/tasks/${t.body.id}/cancel`);
    expect(again.status).toBe(409);
    const patch = await api(svc.url, "PATCH", `/api/tasks/${t.body.id}`, { title: "x" });
    expect(patch.status).toBe(409);
    const r = await api(svc.url, "POST", `/api/tasks/${t.body.id}/retry`);
    expect(r.status).toBe(200);
    expect(r.body.status).toBe("pending");
    expect(await jobsFor(t.body.id)).toBe(1);
    const r2 = await api(svc.url, "POST", `/api/tasks/${t.body.id}/retry`);
    expect(r2.status).toBe(409);
  });

  it("DELETE removes the task, its conversations, logs and job", async () => {
    const t = await api(svc.url, "POST", "/api/tasks", { type: "noop", conversations: [{ content: "x" }] });
    expect((await api(svc.url, "DELETE", `/api/tasks/${t.body.id}`)).status).toBe(204);
    expect((await api(svc.url, "GET", `/api/tasks/${t.body.id}`)).status).toBe(404);
    expect(await jobsFor(t.body.id)).toBe(0);
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from baton.conversations where task_id = ${t.body.id}`.execute(tdb.database.db);
    expect(rows[0].n).toBe(0);
    expect((await api(svc.url, "DELETE", `/api/tasks/${t.body.id}`)).status).toBe(404);
  });

  it("bulk status report applies the state machine and lists what it could not change", async () => {
    const ids = (await api(svc.url, "POST", "/api/tasks/batch", { tasks: [{ type: "noop" }, { type: "noop" }, { type: "noop", hold: true }] })).body.ids;
    const r = await api(svc.url, "POST", "/api/tasks/status", { completed: [ids[0]], failed: [ids[1]], pending: [ids[2], 99_999_999] });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ updated: 3, notFound: [99_999_999], conflicts: [] });
    const states = await Promise.all(ids.map(async (id: number) => (await api(svc.url, "GET", `/api/tasks/${id}`)).body.status));
    expect(states).toEqual(["completed", "failed", "pending"]);
    expect([await jobsFor(ids[0]), await jobsFor(ids[1]), await jobsFor(ids[2])]).toEqual([0, 0, 1]);
    // completed → failed is not a transition: conflict, unchanged
    const c = await api(svc.url, "POST", "/api/tasks/status", { failed: [ids[0]] });
    expect(c.body).toEqual({ updated: 0, notFound: [], conflicts: [ids[0]] });
    // a terminal task set back to pending is an explicit retry
    const back = await api(svc.url, "POST", "/api/tasks/status", { pending: [ids[0]] });
    expect(back.body.updated).toBe(1);
    expect(await jobsFor(ids[0])).toBe(1);
  });
});

describe("conversations and logs", () => {
  it("appends, edits and deletes conversations; notes are editable, system rows are not", async () => {
    const t = await api(svc.url, "POST", "/api/tasks", { type: "noop" });
    const add = await api(svc.url, "POST", `/api/tasks/${t.body.id}/conversations`, { items: [{ content: "a" }, { content: "b", role: "assistant" }] });
    expect(add.status).toBe(201);
    const [a, b] = add.body.items;
    expect((await api(svc.url, "PATCH", `/api/conversations/${a.id}`, { status: "processed" })).body.status).toBe("processed");
    expect((await api(svc.url, "DELETE", `/api/conversations/${b.id}`)).status).toBe(204);
    const list = await api(svc.url, "GET", `/api/tasks/${t.body.id}/conversations`);
    expect(list.body.items.map((c: { content: string }) => c.content)).toEqual(["a"]);

    const note = await api(svc.url, "POST", "/api/task-logs", { taskId: t.body.id, message: "checked by ops" });
    expect(note.status).toBe(201);
    expect(note.body).toMatchObject({ event: "note", source: "api" });
    expect((await api(svc.url, "PATCH", `/api/task-logs/${note.body.id}`, { message: "edited" })).body.message).toBe("edited");
    await api(svc.url, "POST", `/api/tasks/${t.body.id}/cancel`);
    const logs = await api(svc.url, "GET", `/api/tasks/${t.body.id}/logs`);
    const system = logs.body.items.find((l: { source: string }) => l.source === "system");
    expect(system).toBeTruthy();
    expect((await api(svc.url, "PATCH", `/api/task-logs/${system.id}`, { message: "rewrite history" })).status).toBe(409);
    expect((await api(svc.url, "DELETE", `/api/task-logs/${system.id}`)).status).toBe(409);
    expect((await api(svc.url, "DELETE", `/api/task-logs/${note.body.id}`)).status).toBe(204);
    const filtered = await api(svc.url, "GET", `/api/task-logs?taskId=${t.body.id}&event=canceled`);
    expect(filtered.body.total).toBe(1);
  });
});

describe("bad input: a 4xx problem+json naming the problem, database unchanged", () => {
  const cases: [string, string, string, unknown, number, string][] = [
    ["wrong types", "POST", "/api/tasks", { type: "noop", priority: "high" }, 400, "priority"],
    ["unknown task type", "POST", "/api/tasks", { type: "nope" }, 400, "type"],
    ["payload failing its type's schema", "POST", "/api/tasks", { type: "http", payload: { url: "not a url" } }, 400, "payload.url"],
    ["missing required payload field", "POST", "/api/tasks", { type: "release", payload: { threshold: 3 } }, 400, "payload.batch"],
    ["unknown field", "POST", "/api/tasks", { type: "noop", priorty: 1 }, 400, "priorty"],
    ["malformed JSON", "POST", "/api/tasks", '{"type": "noop",', 400, "JSON"],
    ["a NUL character", "POST", "/api/tasks", { type: "noop", title: "a\u0000b" }, 400, "title"],
    ["a NUL in the payload", "POST", "/api/tasks", { type: "noop", payload: { "k\u0000": 1 } }, 400, "payload"],
    ["batch with one bad task", "POST", "/api/tasks/batch", { tasks: [{ type: "noop" }, { type: "http", payload: {} }] }, 400, "tasks.1.payload.url"],
    ["empty batch", "POST", "/api/tasks/batch", { tasks: [] }, 400, "tasks"],
    ["an id that is not a number", "GET", "/api/tasks/abc", undefined, 400, "id"],
    ["a zero id", "POST", "/api/tasks/0/cancel", undefined, 400, "id"],
    ["a negative id", "DELETE", "/api/tasks/-1", undefined, 400, "id"],
    ["an id beyond 2^53", "GET", "/api/tasks/99999999999999999999", undefined, 400, "id"],
    ["a bad status report id", "POST", "/api/tasks/status", { completed: ["1"] }, 400, "completed"],
  ];
  for (const [name, method, path, body, status, names] of cases) {
    it(name, async () => {
      const before = await snapshot();
      const r = await api(svc.url, method, path, body);
      expect(r.status).toBe(status);
      expect(r.headers.get("content-type")).toContain("application/problem+json");
      expect(JSON.stringify(r.body)).toContain(names);
      expect(r.body.detail).not.toMatch(/at .*\.ts:\d+|select |insert /i);
      expect(await snapshot()).toEqual(before);
    });
  }

  it("an oversize body gets 413", async () => {
    const before = await snapshot();
    const r = await api(svc.url, "POST", "/api/tasks", { type: "noop", description: "x".repeat(300_000) });
    expect(r.status).toBe(413);
    expect(r.headers.get("content-type")).toContain("application/problem+json");
    expect(await snapshot()).toEqual(before);
  });

  it("a wrong content type gets 415", async () => {
    const res = await fetch(`${svc.url}/api/tasks`, { method: "POST", headers: { "content-type": "text/plain" }, body: '{"type":"noop"}' });
    expect(res.status).toBe(415);
  });

  it("the service is still up", async () => {
    expect((await api(svc.url, "GET", "/ready")).status).toBe(200);
  });
});

describe("API description", () => {
  it("serves /openapi.json covering every task route and a rendered /docs", async () => {
    const doc = await api(svc.url, "GET", "/openapi.json");
    expect(doc.status).toBe(200);
    for (const p of ["/api/tasks", "/api/tasks/batch", "/api/tasks/{id}", "/api/tasks/{id}/cancel", "/api/tasks/{id}/retry", "/api/tasks/status", "/api/tasks/{id}/conversations", "/api/conversations/{id}", "/api/task-logs", "/api/task-logs/{id}", "/api/tasks/{id}/logs", "/api/task-types", "/api/status"]) {
      expect(doc.body.paths[p], p).toBeTruthy();
    }
    expect(doc.body.components.schemas.CreateTask.properties.priority).toBeTruthy();
    const html = await fetch(`${svc.url}/docs`);
    expect(html.status).toBe(200);
    expect(await html.text()).toContain("/api/tasks/batch");
  });

  it("lists task types with JSON Schemas", async () => {
    const r = await api(svc.url, "GET", "/api/task-types");
    const names = r.body.items.map((t: { name: string }) => t.name);
    for (const n of ["http", "simulate", "release", "noop"]) expect(names).toContain(n);
    const http = r.body.items.find((t: { name: string }) => t.name === "http");
    expect(http.parameters.properties.url).toBeTruthy();
    expect(http.parameters.required).toContain("url");
  });

  it("reports status with live instances and counts", async () => {
    const r = await waitFor(async () => {
      const s = await api(svc.url, "GET", "/api/status");
      return s.body.instances?.length ? s : null;
    });
    if (!r) throw new Error("no status");
    expect(r.body.instance.id).toBe(svc.config.INSTANCE_ID);
    expect(r.body.instances.map((i: { id: string }) => i.id)).toContain(svc.config.INSTANCE_ID);
    expect(r.body.counts.pending).toBeGreaterThan(0);
  });
});
