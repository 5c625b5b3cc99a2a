/**
 * Schedules through the API of one in-process instance against real Postgres: shapes, bad input,
 * pause/resume, overlap, the failure policy on every path (worker, bulk status API, plain SQL),
 * the failing-webhook scenario against a real local HTTP server, and seed 000's replenishment.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Service } from "../src/service.js";
import { createTestDb, type TestDb } from "./helpers/db.js";
import { api, startTestService, waitFor } from "./helpers/service.js";

let tdb: TestDb;
let svc: Service;
const sql = () => tdb.database.sql;

beforeAll(async () => {
  tdb = await createTestDb();
  // grace 20 s: a stall of the loaded test machine is lag, not downtime
  svc = await startTestService(tdb.url, { SCHEDULER_TICK_MS: "100", SCHEDULER_MISFIRE_GRACE_MS: "20000", WORKER_CONCURRENCY: "20" });
});
afterAll(async () => {
  await svc?.stop();
  await tdb?.drop();
});

const post = (path: string, body?: unknown) => api(svc.url, "POST", path, body);
const get = (path: string) => api(svc.url, "GET", path);

async function tasksOf(scheduleId: number) {
  return sql()<{ id: number; status: string; attempts: number; scheduled_for: Date; created_at: Date }[]>`
    select id, status, attempts, scheduled_for, created_at from baton.tasks where schedule_id = ${scheduleId} order by scheduled_for`;
}

async function countTasks(scheduleId: number): Promise<number> {
  const [r] = await sql()<{ n: number }[]>`select count(*)::int as n from baton.tasks where schedule_id = ${scheduleId}`;
  return r.n;
}

/**
 * Waits until `n` due seconds have passed with the scheduler loop running: a witness schedule
 * firing every second has fired n times (then it is paused). What a paused or deactivated
 * schedule did not fire meanwhile, it would have fired in those same ticks.
 */
async function dueSecondsPass(n: number, witness: string): Promise<void> {
  const w = (await post("/api/schedules", { name: witness, type: "noop", trigger: { kind: "cron", expression: "* * * * * *" }, overlap: "allow", catchUp: "none" })).body;
  await waitFor(async () => (await countTasks(w.id)) >= n, { what: `${n} firings of ${witness}` });
  await post(`/api/schedules/${w.id}/pause`);
}

describe("API shapes", () => {
  it("creates seed 001's daily webhook: 09:00 Europe/Berlin, with nextRunAt and the next 5 fire times", async () => {
    const r = await post("/api/schedules", {
      name: "daily-report",
      type: "http",
      payload: { url: "http://127.0.0.1:9/hook", method: "POST", body: { content: "Daily report is ready!" } },
      trigger: { kind: "cron", expression: "0 9 * * *", timezone: "Europe/Berlin" },
      maxAttempts: 4,
      backoff: { baseMs: 1000 },
      deactivateAfterFailures: 1,
      catchUp: "latest",
      overlap: "skip",
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const s = r.body;
    expect(s).toMatchObject({ name: "daily-report", type: "http", status: "active", maxAttempts: 4, deactivateAfterFailures: 1, catchUp: "latest", overlap: "skip", consecutiveFailures: 0 });
    expect(s.trigger).toEqual({ kind: "cron", expression: "0 9 * * *", timezone: "Europe/Berlin" });
    expect(s.nextRuns).toHaveLength(5);
    expect(s.nextRuns[0]).toBe(s.nextRunAt);
    for (const at of s.nextRuns) {
      const local = new Intl.DateTimeFormat("en-GB", { timeZone: "Europe/Berlin", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(new Date(at));
      expect(local).toBe("09:00");
    }
    const again = await get(`/api/schedules/${s.id}`);
    expect(again.status).toBe(200);
    expect(again.body.nextRuns).toEqual(s.nextRuns);
    // the DBA sees the same in SQL
    const [row] = await sql()<{ next_run_at: Date; trigger: unknown }[]>`select next_run_at, trigger from baton.schedules where id = ${s.id}`;
    expect(row.next_run_at.toISOString()).toBe(s.nextRunAt);
  });

  it("lists, edits, previews and deletes; a taken name is a 409", async () => {
    const a = await post("/api/schedules", { name: "metrics", type: "noop", trigger: { kind: "interval", seconds: 900 }, status: "paused" });
    expect(a.status).toBe(201);
    expect(a.body.nextRunAt).toBeNull(); // paused
    expect(a.body.nextRuns).toEqual([]);
    expect((await post("/api/schedules", { name: "metrics", type: "noop", trigger: { kind: "interval", seconds: 60 } })).status).toBe(409);

    const list = await get("/api/schedules?status=paused");
    expect(list.status).toBe(200);
    expect(list.body.items.map((s: { name: string }) => s.name)).toContain("metrics");

    const p = await api(svc.url, "PATCH", `/api/schedules/${a.body.id}`, { trigger: { kind: "cron", expression: "*/15 * * * *" }, status: "active" });
    expect(p.status, JSON.stringify(p.body)).toBe(200);
    expect(p.body.status).toBe("active");
    expect(p.body.trigger).toEqual({ kind: "cron", expression: "*/15 * * * *", timezone: "UTC" });
    const gaps = p.body.nextRuns.slice(1).map((x: string, i: number) => Date.parse(x) - Date.parse(p.body.nextRuns[i]));
    expect(gaps).toEqual([900_000, 900_000, 900_000, 900_000]);

    const pv = await post("/api/schedules/preview", { trigger: { kind: "cron", expression: "0 9 * * 1-5", timezone: "Europe/Berlin" }, count: 3 });
    expect(pv.status).toBe(200);
    expect(pv.body.nextRuns).toHaveLength(3);

    expect((await api(svc.url, "DELETE", `/api/schedules/${a.body.id}`)).status).toBe(204);
    expect((await get(`/api/schedules/${a.body.id}`)).status).toBe(404);
  });

  it("documents the routes in /openapi.json", async () => {
    const doc = (await get("/openapi.json")).body;
    for (const p of ["/api/schedules", "/api/schedules/{id}", "/api/schedules/{id}/pause", "/api/schedules/{id}/resume", "/api/schedules/{id}/trigger"]) {
      expect(doc.paths[p], p).toBeDefined();
    }
  });
});

describe("bad input: 400 naming the field, nothing stored", () => {
  const base = { type: "noop", payload: {} };
  const cases: [string, Record<string, unknown>, string][] = [
    ["bad cron", { trigger: { kind: "cron", expression: "61 * * * *" } }, "trigger.expression"],
    ["cron with 3 fields", { trigger: { kind: "cron", expression: "* * *" } }, "trigger.expression"],
    ["unknown zone", { trigger: { kind: "cron", expression: "0 9 * * *", timezone: "Europe/Atlantis" } }, "trigger.timezone"],
    ["zero interval", { trigger: { kind: "interval", seconds: 0 } }, "trigger.seconds"],
    ["negative interval", { trigger: { kind: "interval", seconds: -30 } }, "trigger.seconds"],
    ["once in the past", { trigger: { kind: "once", at: "2020-01-01T00:00:00Z" } }, "trigger.at"],
    ["unknown task type", { type: "nope", trigger: { kind: "interval", seconds: 60 } }, "type"],
    ["payload not fitting the type", { type: "release", payload: { batch: 500 }, trigger: { kind: "interval", seconds: 60 } }, "payload.threshold"],
  ];
  for (const [what, extra, field] of cases) {
    it(what, async () => {
      const before = await sql()<{ n: number }[]>`select count(*)::int as n from baton.schedules`;
      const r = await post("/api/schedules", { name: `bad-${what}`, ...base, ...extra });
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(r.headers.get("content-type")).toContain("application/problem+json");
      expect(r.body.errors.map((e: { field: string }) => e.field)).toContain(field);
      expect(r.body.detail).toContain(field);
      const after = await sql()<{ n: number }[]>`select count(*)::int as n from baton.schedules`;
      expect(after[0].n).toBe(before[0].n);
    });
  }

  it("PATCH with a bad trigger changes nothing", async () => {
    const s = (await post("/api/schedules", { name: "patch-me", type: "noop", trigger: { kind: "interval", seconds: 3600 } })).body;
    const r = await api(svc.url, "PATCH", `/api/schedules/${s.id}`, { trigger: { kind: "cron", expression: "0 25 * * *" } });
    expect(r.status).toBe(400);
    expect(r.body.errors[0].field).toBe("trigger.expression");
    expect((await get(`/api/schedules/${s.id}`)).body.trigger).toEqual({ kind: "interval", seconds: 3600 });
  });
});

describe("firing, pause and resume", () => {
  // overlap "allow" in the every-second schedules: on a loaded machine a noop task can take more
  // than a second to be picked up, and "skip" would then (rightly) leave a due second out.
  it("pause stops firings; resume continues at the next due time without a burst", async () => {
    const s = (await post("/api/schedules", { name: "every-second", type: "noop", trigger: { kind: "cron", expression: "* * * * * *" }, catchUp: "latest", overlap: "allow" })).body;
    await waitFor(async () => (await countTasks(s.id)) >= 2, { what: "two firings" });
    const paused = await post(`/api/schedules/${s.id}/pause`);
    expect(paused.status).toBe(200);
    expect(paused.body.status).toBe("paused");
    const atPause = await countTasks(s.id);
    const [{ now: pausedAt }] = await sql()<{ now: Date }[]>`select now()`;
    // Three due times pass while paused.
    await dueSecondsPass(3, "witness-pause");
    expect(await countTasks(s.id)).toBe(atPause);

    const resumed = await post(`/api/schedules/${s.id}/resume`);
    expect(resumed.status).toBe(200);
    const next = Date.parse(resumed.body.nextRunAt);
    expect(next).toBeGreaterThan(pausedAt.getTime() + 2500);
    await waitFor(async () => (await countTasks(s.id)) >= atPause + 2, { what: "firings after resume" });
    await post(`/api/schedules/${s.id}/pause`);
    const after = (await tasksOf(s.id)).slice(atPause);
    // nothing for the paused seconds: the first new firing is the resume's nextRunAt, then every second
    expect(after[0].scheduled_for.getTime()).toBe(next);
    expect(after.map((t) => t.scheduled_for.getTime())).toEqual(after.map((_, i) => next + i * 1000));
  });

  it("with catchUp all, resume fires every due time missed while paused", async () => {
    const s = (await post("/api/schedules", { name: "every-second-all", type: "noop", trigger: { kind: "cron", expression: "* * * * * *" }, catchUp: "all", overlap: "allow" })).body;
    await waitFor(async () => (await countTasks(s.id)) >= 1, { what: "first firing" });
    await post(`/api/schedules/${s.id}/pause`);
    const atPause = await tasksOf(s.id);
    await dueSecondsPass(3, "witness-catch-up");
    expect(await countTasks(s.id)).toBe(atPause.length);
    const resumed = await post(`/api/schedules/${s.id}/resume`);
    const last = atPause[atPause.length - 1].scheduled_for.getTime();
    expect(Date.parse(resumed.body.nextRunAt)).toBe(last + 1000); // kept: the missed ones are due
    await waitFor(async () => (await countTasks(s.id)) >= atPause.length + 4, { what: "catch-up burst" });
    await post(`/api/schedules/${s.id}/pause`);
    const all = (await tasksOf(s.id)).map((t) => t.scheduled_for.getTime());
    // every second from the first firing on, no gaps, no duplicates
    expect(all).toEqual(all.map((_, i) => all[0] + i * 1000));
  });

  it("overlap skip does not fire while the previous task runs; allow does", async () => {
    const mk = async (name: string, overlap: string) =>
      (await post("/api/schedules", { name, type: "simulate", payload: { durationMs: 2500 }, trigger: { kind: "cron", expression: "* * * * * *" }, overlap })).body;
    const skip = await mk("overlap-skip", "skip");
    const allow = await mk("overlap-allow", "allow");
    await waitFor(async () => (await countTasks(allow.id)) >= 4, { what: "four overlapping firings" });
    await post(`/api/schedules/${skip.id}/pause`);
    await post(`/api/schedules/${allow.id}/pause`);
    const skipped = await sql()<{ created_at: Date; finished_at: Date | null }[]>`
      select created_at, finished_at from baton.tasks where schedule_id = ${skip.id} order by scheduled_for`;
    // while one ran (2.5 s), no second one was created: each firing comes after the previous finished
    expect(skipped.length).toBeGreaterThanOrEqual(1);
    expect(skipped.length).toBeLessThan(await countTasks(allow.id));
    for (let i = 1; i < skipped.length; i++) {
      expect(skipped[i - 1].finished_at).not.toBeNull();
      expect(skipped[i].created_at.getTime()).toBeGreaterThanOrEqual(skipped[i - 1].finished_at!.getTime());
    }
  });

  it("run now creates one task at once, also for a paused schedule", async () => {
    const s = (await post("/api/schedules", { name: "manual", type: "noop", trigger: { kind: "interval", seconds: 86_400 }, status: "paused" })).body;
    const r = await post(`/api/schedules/${s.id}/trigger`);
    expect(r.status).toBe(201);
    expect(r.body.scheduleId).toBe(s.id);
    await waitFor(async () => (await get(`/api/tasks/${r.body.id}`)).body.status === "completed", { what: "run-now task done" });
    expect(await countTasks(s.id)).toBe(1);
  });

  it("run now on a missing schedule is a 404 and on an inactive one a 409; neither creates a task", async () => {
    const missing = await post("/api/schedules/987654321/trigger");
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-type")).toContain("application/problem+json");
    expect(missing.body.detail).toContain("schedule 987654321 not found");

    const created = (await post("/api/schedules", { name: "run-now-inactive", type: "noop", trigger: { kind: "interval", seconds: 86_400 }, status: "paused" })).body;
    const s = (await api(svc.url, "PATCH", `/api/schedules/${created.id}`, { status: "inactive" })).body;
    expect(s.status).toBe("inactive");
    const r = await post(`/api/schedules/${s.id}/trigger`);
    expect(r.status, JSON.stringify(r.body)).toBe(409);
    expect(r.body.detail).toContain("inactive");
    expect(await countTasks(s.id)).toBe(0);
  });

  it("run now racing a delete is a 404: the schedule row is locked before the task is inserted", async () => {
    const s = (await post("/api/schedules", { name: "run-now-deleted", type: "noop", trigger: { kind: "interval", seconds: 86_400 }, status: "paused" })).body;
    const reserved = await sql().reserve();
    try {
      await reserved`begin`;
      await reserved`select id from baton.schedules where id = ${s.id} for update`;
      const pending = post(`/api/schedules/${s.id}/trigger`);
      // The trigger's transaction is waiting on this one's row lock.
      await waitFor(async () => {
        const [w] = await sql()<{ n: number }[]>`
          select count(*)::int as n from pg_locks l join pg_stat_activity a using (pid)
          where not l.granted and a.datname = current_database() and a.application_name = 'baton'`;
        return w.n > 0;
      }, { what: "trigger waiting on the schedule row" });
      await reserved`delete from baton.schedules where id = ${s.id}`;
      await reserved`commit`;
      const r = await pending;
      expect(r.status, JSON.stringify(r.body)).toBe(404);
    } finally {
      reserved.release();
    }
    expect(await countTasks(s.id)).toBe(0);
  });

  it("a one-time schedule fires once and becomes inactive", async () => {
    const [{ now }] = await sql()<{ now: Date }[]>`select now()`;
    const at = new Date(now.getTime() + 1500).toISOString();
    const s = (await post("/api/schedules", { name: "one-time", type: "noop", trigger: { kind: "once", at } })).body;
    expect(s.nextRuns).toEqual([new Date(at).toISOString()]);
    await waitFor(async () => (await get(`/api/schedules/${s.id}`)).body.status === "inactive", { what: "one-time done" });
    const done = (await get(`/api/schedules/${s.id}`)).body;
    expect(done.deactivatedReason).toBe("one-time trigger fired");
    expect(done.nextRunAt).toBeNull();
    const tasks = await tasksOf(s.id);
    expect(tasks.map((t) => t.scheduled_for.toISOString())).toEqual([new Date(at).toISOString()]);
  });
});

describe("DBA edits", () => {
  it("a deactivated schedule set active again in SQL gets its next due time from the scheduler", async () => {
    const s = (await post("/api/schedules", { name: "sql-reactivated", type: "noop", trigger: { kind: "interval", seconds: 3600 } })).body;
    await sql()`update baton.schedules set status = 'inactive', next_run_at = null, deactivated_reason = 'by hand' where id = ${s.id}`;
    await sql()`update baton.schedules set status = 'active' where id = ${s.id}`;
    const back = await waitFor(async () => {
      const x = (await get(`/api/schedules/${s.id}`)).body;
      return x.nextRunAt ? x : null;
    }, { what: "next_run_at set by the scheduler" });
    expect(back).toMatchObject({ status: "active", deactivatedReason: null });
    expect(back?.nextRuns).toHaveLength(5);
    expect(await countTasks(s.id)).toBe(0); // nothing fired for the time it was inactive
  });
});

describe("replenishment (seed 000) with the release task type", () => {
  it("moves up to `batch` backlog tasks to pending, highest priority first, then oldest", async () => {
    // Backlog tasks whose type is long-running, so released ones stay visible as not-backlog.
    const ids: number[] = [];
    for (const priority of [0, 5, 5, 1, 9]) {
      const r = await post("/api/tasks", { type: "simulate", payload: { durationMs: 60_000 }, priority, hold: true, title: `backlog p${priority}` });
      expect(r.status).toBe(201);
      ids.push(r.body.id);
    }
    const [{ now }] = await sql()<{ now: Date }[]>`select now()`;
    const s = (await post("/api/schedules", {
      name: "replenish",
      type: "release",
      payload: { threshold: 3000, batch: 3 },
      trigger: { kind: "once", at: new Date(now.getTime() + 1000).toISOString() },
    })).body;
    expect(s.status).toBe("active");
    const release = await waitFor(async () => {
      const t = await tasksOf(s.id);
      return t.length && t[0].status === "completed" ? t : null;
    }, { what: "release task completed" });
    expect(release?.map((t) => t.status)).toEqual(["completed"]);
    const rows = await sql()<{ id: number; status: string }[]>`select id, status from baton.tasks where id = any(${ids}) order by id`;
    const released = rows.filter((r) => r.status !== "backlog").map((r) => r.id);
    // priorities [0, 5, 5, 1, 9]: 9 first, then the two 5s (older first)
    expect(released.sort((a, b) => a - b)).toEqual([ids[1], ids[2], ids[4]].sort((a, b) => a - b));
    for (const id of ids) await post(`/api/tasks/${id}/cancel`);
  });
});

describe("failure policy", () => {
  it("counts failures from the bulk status API and from plain SQL; a success resets; the threshold deactivates with a log row and a NOTIFY", async () => {
    // baton_events also carries other kinds (dashboard change events): keep ours only.
    const events: { kind?: string }[] = [];
    const listener = await sql().listen("baton_events", (p) => {
      const e = JSON.parse(p);
      if (e.kind === "schedule_deactivated") events.push(e);
    });
    try {
      const s = (await post("/api/schedules", {
        name: "policy",
        type: "simulate",
        payload: { durationMs: 600_000 },
        trigger: { kind: "interval", seconds: 86_400 },
        deactivateAfterFailures: 2,
        status: "paused",
      })).body;
      const run = async () => (await post(`/api/schedules/${s.id}/trigger`)).body.id as number;
      const failures = async () => (await get(`/api/schedules/${s.id}`)).body.consecutiveFailures;

      const t1 = await run();
      expect((await post("/api/tasks/status", { failed: [t1] })).body.updated).toBe(1);
      expect(await failures()).toBe(1);
      const t2 = await run();
      await post("/api/tasks/status", { completed: [t2] });
      expect(await failures()).toBe(0);
      const t3 = await run();
      await post("/api/tasks/status", { failed: [t3] });
      expect(await failures()).toBe(1);
      const t4 = await run();
      await sql()`update baton.tasks set status = 'failed', last_error = 'failed by hand', finished_at = now() where id = ${t4}`;
      const after = (await get(`/api/schedules/${s.id}`)).body;
      expect(after.status).toBe("inactive");
      expect(after.consecutiveFailures).toBe(2);
      expect(after.deactivatedReason).toContain("2 firing(s) in a row ended failed");
      expect(after.deactivatedReason).toContain(`task ${t4}`);
      const notes = await sql()<{ message: string }[]>`select message from baton.task_logs where task_id = ${t4} and event = 'note' and message like '%deactivated%'`;
      expect(notes).toHaveLength(1);
      await waitFor(() => events.length > 0, { what: "baton_events notification" });
      expect(events[0]).toMatchObject({ kind: "schedule_deactivated", scheduleId: s.id, name: "policy", taskId: t4 });

      // resume starts a fresh count
      const resumed = (await post(`/api/schedules/${s.id}/resume`)).body;
      expect(resumed).toMatchObject({ status: "active", consecutiveFailures: 0, deactivatedReason: null });
      await post(`/api/schedules/${s.id}/pause`);
      for (const id of [t1, t2, t3, t4]) await post(`/api/tasks/${id}/cancel`).catch(() => {});
    } finally {
      await listener.unlisten();
    }
  });

  it("failing webhook: 3 attempts with growing gaps, then the schedule is inactive and fires no more", async () => {
    const hits: number[] = [];
    const server = http.createServer((req, res) => {
      hits.push(performance.now());
      req.resume();
      res.writeHead(500, { "content-type": "text/plain" }).end("upstream broken");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as AddressInfo).port;
    try {
      const s = (await post("/api/schedules", {
        name: "failing-webhook",
        type: "http",
        payload: { url: `http://127.0.0.1:${port}/hook`, method: "POST", body: { content: "Daily report is ready!" } },
        trigger: { kind: "interval", seconds: 1 },
        maxAttempts: 3,
        backoff: { baseMs: 200, maxMs: 10_000 },
        deactivateAfterFailures: 1,
      })).body;
      const done = await waitFor(async () => {
        const x = (await get(`/api/schedules/${s.id}`)).body;
        return x.status === "inactive" ? x : null;
      }, { what: "schedule deactivated", timeoutMs: 30_000 });
      expect(done.deactivatedReason).toContain("HTTP 500");
      // keep watching: an interval of 1 s fires again within each of the next 3 seconds, if active
      await dueSecondsPass(3, "witness-deactivated");
      const tasks = await tasksOf(s.id);
      expect(tasks).toHaveLength(1);
      expect(tasks[0]).toMatchObject({ status: "failed", attempts: 3 });
      expect(hits).toHaveLength(3);
      const gaps = [hits[1] - hits[0], hits[2] - hits[1]];
      // backoff with equal jitter: gap 1 >= 100 ms (base/2), gap 2 >= 200 ms (base): the floor doubles
      expect(gaps[0]).toBeGreaterThanOrEqual(95);
      expect(gaps[1]).toBeGreaterThanOrEqual(195);
      console.log(`failing webhook gaps: ${gaps.map((g) => g.toFixed(0)).join(" ms, ")} ms`);
      const logs = await sql()<{ event: string }[]>`select event from baton.task_logs where task_id = ${tasks[0].id} order by id`;
      expect(logs.map((l) => l.event).filter((e) => e !== "note")).toEqual(["retry_scheduled", "retry_scheduled", "failed"]);
      expect(logs.filter((l) => l.event === "note")).toHaveLength(2); // fired by ..., deactivated ...
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe("status", () => {
  it("GET /api/status has a scheduler section with counts and the next due schedule", async () => {
    const r = await get("/api/status");
    expect(r.status).toBe(200);
    const sc = r.body.scheduler;
    expect(sc).toMatchObject({ enabled: true, tickMs: 100 });
    const [counts] = await sql()<{ active: number; paused: number; inactive: number }[]>`
      select count(*) filter (where status = 'active')::int as active, count(*) filter (where status = 'paused')::int as paused,
             count(*) filter (where status = 'inactive')::int as inactive from baton.schedules`;
    expect({ active: sc.active, paused: sc.paused, inactive: sc.inactive }).toEqual(counts);
    const [next] = await sql()<{ name: string; next_run_at: Date }[]>`
      select name, next_run_at from baton.schedules where status = 'active' order by next_run_at limit 1`;
    expect(sc.nextDue.name).toBe(next.name);
    expect(sc.nextDue.nextRunAt).toBe(next.next_run_at.toISOString());
  });
});
