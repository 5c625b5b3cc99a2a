/**
 * /events (Server-Sent Events fed by LISTEN baton_events), tested as a plain HTTP client:
 * statement-level triggers (one NOTIFY for a 10,000-row batch), coalescing of bursts, SQL changes,
 * schedule events and forwarded payloads, keepalive comments, one LISTEN connection per instance
 * however many clients, cleanup on disconnect and on stop, and no queries without clients.
 */
import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Service } from "../src/service.js";
import { createTestDb, type TestDb } from "./helpers/db.js";
import { api, startTestService, waitFor } from "./helpers/service.js";

interface SseEvent {
  event: string;
  data: string;
  at: number;
}

/** A minimal EventSource over fetch: records events and comments as they arrive. */
async function openStream(base: string, headers: Record<string, string> = {}) {
  const ctrl = new AbortController();
  const res = await fetch(`${base}/events`, { signal: ctrl.signal, headers: { accept: "text/event-stream", ...headers } });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/event-stream");
  const events: SseEvent[] = [];
  const comments: string[] = [];
  let ended = false;
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const pump = (async () => {
    let buf = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += decoder.decode(value, { stream: true });
        let i = buf.indexOf("\n\n");
        while (i >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let event = "message";
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) comments.push(line.slice(1).trim());
            else if (line.startsWith("event: ")) event = line.slice(7);
            else if (line.startsWith("data: ")) data.push(line.slice(6));
          }
          if (data.length) events.push({ event, data: data.join("\n"), at: Date.now() });
          i = buf.indexOf("\n\n");
        }
      }
    } catch {
      // aborted
    } finally {
      ended = true;
    }
  })();
  await waitFor(() => events.some((e) => e.event === "hello"), { what: "hello event" });
  return {
    events,
    comments,
    of: (name: string) => events.filter((e) => e.event === name),
    get ended() {
      return ended;
    },
    close: async () => {
      ctrl.abort();
      await pump;
    },
  };
}

let tdb: TestDb;
let svc: Service;

async function dashboardStatus(s: Service = svc): Promise<{ sseClients: number; refreshes: number; idleRefreshes: number; notifications: number }> {
  return (await api(s.url, "GET", "/api/status")).body.dashboard;
}

const backlogIn = (e: SseEvent) => JSON.parse(e.data).counts.backlog as number;

beforeAll(async () => {
  tdb = await createTestDb();
  // No worker, scheduler or pruner: nothing changes tasks behind the test's back, so
  // notifications can be counted exactly (a statement that changes no row still notifies while
  // watched; the triggers have no transition tables, which cost ~20% of worker throughput).
  svc = await startTestService(tdb.url, {
    INSTANCE_ID: "events-a",
    WORKER_ENABLED: "false",
    SCHEDULER_ENABLED: "false",
    PRUNE_INTERVAL_MS: "0",
    SSE_KEEPALIVE_MS: "200",
  });
});
afterAll(async () => {
  await svc?.stop();
  await tdb?.drop();
});

describe("/events", () => {
  it("the change triggers are statement-level (one NOTIFY per statement, not per row)", async () => {
    const rows = await tdb.database.sql<{ tgname: string; table: string; perRow: boolean }[]>`
      select tgname, tgrelid::regclass::text as table, (tgtype & 1) = 1 as per_row
      from pg_trigger where tgname like '%\\_events\\_%' order by tgname`;
    expect(rows.map((r) => `${r.table}:${r.tgname}`)).toEqual([
      "baton.schedules:schedules_events_delete",
      "baton.schedules:schedules_events_insert",
      "baton.schedules:schedules_events_update",
      "baton.tasks:tasks_events_delete",
      "baton.tasks:tasks_events_insert",
      "baton.tasks:tasks_events_update",
    ]);
    expect(rows.every((r) => !r.perRow)).toBe(true);
  });

  it("a 10,000-row batch arrives as one notification and one counts update", async () => {
    const s = await openStream(svc.url);
    const before = await dashboardStatus();
    const start = backlogIn(s.of("hello")[0]);
    const batch = await api(svc.url, "POST", "/api/tasks/batch", { tasks: Array.from({ length: 10_000 }, (_, i) => ({ type: "noop", title: `bulk ${i}`, hold: true })) });
    expect(batch.body.created).toBe(10_000);
    // A one-row marker statement afterwards: once its notification is in, every earlier one is.
    await tdb.database.sql`insert into baton.tasks (type, status, title) values ('noop', 'backlog', 'marker')`;
    const last = await waitFor(() => s.of("tasks").find((e) => backlogIn(e) === start + 10_001), { what: "counts with the marker" });
    const after = await dashboardStatus();
    expect(after.notifications - before.notifications).toBe(2);
    expect(s.of("tasks").every((e) => [start, start + 10_000, start + 10_001].includes(backlogIn(e)))).toBe(true);
    expect(last).toBeTruthy();
    await s.close();
  });

  it("coalesces a burst of statements into a few refreshes, at least 250 ms apart, ending on the true count", async () => {
    const s = await openStream(svc.url);
    const start = backlogIn(s.of("hello")[0]);
    const before = await dashboardStatus();
    const N = 150;
    for (let i = 0; i < N; i++) await tdb.database.sql`insert into baton.tasks (type, status, title) values ('noop', 'backlog', ${`burst ${i}`})`;
    await waitFor(() => s.of("tasks").some((e) => backlogIn(e) === start + N), { what: "final count" });
    const after = await dashboardStatus();
    const ev = s.of("tasks");
    expect(after.notifications - before.notifications).toBe(N);
    expect(ev.length).toBeLessThan(N);
    const span = ev[ev.length - 1].at - ev[0].at;
    // The hub refreshes at most once per 250 ms (timers never fire early); +2 for clock reading slack.
    expect(ev.length).toBeLessThanOrEqual(Math.floor(span / 250) + 2);
    console.info(`burst of ${N} statements: ${after.notifications - before.notifications} notifications, ${ev.length} SSE updates over ${span} ms`);
    await s.close();
  });

  it("forwards schedule changes and schedule_deactivated payloads; ignores malformed ones", async () => {
    const s = await openStream(svc.url);
    const [row] = await tdb.database.sql<{ id: number }[]>`
      insert into baton.schedules (name, type, trigger) values ('sse-probe', 'noop', ${tdb.database.sql.json({ kind: "interval", seconds: 60 })}) returning id`;
    await waitFor(() => s.of("schedules").length > 0, { what: "schedules event" });
    await tdb.database.sql`select pg_notify('baton_events', 'not json')`;
    await tdb.database.sql`select pg_notify('baton_events', '{"kind":"Bad Kind!"}')`;
    await tdb.database.sql`select pg_notify('baton_events', ${JSON.stringify({ kind: "schedule_deactivated", scheduleId: row.id, name: "sse-probe", reason: "test" })})`;
    const e = await waitFor(() => s.of("schedule_deactivated")[0], { what: "forwarded payload" });
    expect(JSON.parse(e.data)).toEqual({ kind: "schedule_deactivated", scheduleId: row.id, name: "sse-probe", reason: "test" });
    expect(s.events.map((x) => x.event).filter((n) => !["hello", "tasks", "schedules", "schedule_deactivated"].includes(n))).toEqual([]);
    await s.close();
  });

  it("sends keepalive comments", async () => {
    const s = await openStream(svc.url);
    await waitFor(() => s.comments.filter((c) => c === "keepalive").length >= 2, { what: "two keepalives", timeoutMs: 10_000 });
    await s.close();
  });

  it("holds one LISTEN connection per instance however many clients, and forgets clients that leave", async () => {
    const streams = await Promise.all(Array.from({ length: 5 }, () => openStream(svc.url)));
    await waitFor(async () => (await dashboardStatus()).sseClients === 5, { what: "5 clients" });
    const [{ n }] = await tdb.database.sql<{ n: number }[]>`
      select count(*)::int as n from pg_stat_activity
      where datname = current_database() and query ilike 'listen%baton_events%'`;
    expect(n).toBe(1);
    await Promise.all(streams.map((s) => s.close()));
    await waitFor(async () => (await dashboardStatus()).sseClients === 0, { what: "clients cleaned up" });
  });

  it("queries nothing while no client is connected", async () => {
    await waitFor(async () => (await dashboardStatus()).sseClients === 0, { what: "no clients" });
    const before = await dashboardStatus();
    for (let i = 0; i < 5; i++) await tdb.database.sql`insert into baton.tasks (type, status) values ('noop', 'backlog')`;
    // The coalesced refresh runs, finds no client and queries nothing.
    await waitFor(
      async () => {
        const now = await dashboardStatus();
        return now.notifications - before.notifications === 5 && now.idleRefreshes > before.idleRefreshes;
      },
      { what: "notifications seen and the refresh skipped" },
    );
    expect((await dashboardStatus()).refreshes).toBe(before.refreshes);
  });

  it("sends no NOTIFY at all while no dashboard is watched", async () => {
    await waitFor(async () => (await dashboardStatus()).sseClients === 0, { what: "no clients" });
    // Registrations expire after 60 s; end them now, as if every page had been closed long ago.
    await tdb.database.sql`delete from baton.dashboard_watchers`;
    const before = await dashboardStatus();
    for (let i = 0; i < 5; i++) await tdb.database.sql`insert into baton.tasks (type, status) values ('noop', 'backlog')`;
    // A client registers again; its marker is then announced. Notifications arrive in commit
    // order, so once the marker's is in, any from the five inserts would be too.
    const s = await openStream(svc.url);
    const [{ n: rows }] = await tdb.database.sql<{ n: number }[]>`select count(*)::int as n from baton.dashboard_watchers where expires_at > now()`;
    expect(rows).toBe(1);
    await tdb.database.sql`insert into baton.tasks (type, status, title) values ('noop', 'backlog', 'marker 2')`;
    await waitFor(async () => (await dashboardStatus()).notifications > before.notifications, { what: "marker notification" });
    expect((await dashboardStatus()).notifications - before.notifications).toBe(1);
    await s.close();
  });

  it("PUBLIC_DASHBOARD: without a key, counts only; forwarded payloads are reduced to their kind", async () => {
    const key = randomBytes(16).toString("hex");
    const hash = createHash("sha256").update(key).digest("hex");
    const pub = await startTestService(tdb.url, { INSTANCE_ID: "events-pub", API_KEY_HASHES: hash, PUBLIC_DASHBOARD: "true", WORKER_ENABLED: "false", SCHEDULER_ENABLED: "false", PRUNE_INTERVAL_MS: "0" });
    try {
      const anon = await openStream(pub.url);
      const keyed = await openStream(pub.url, { authorization: `Bearer ${key}` });
      const payload = { kind: "schedule_deactivated", scheduleId: 1, name: "secret-name", reason: "HTTP 500: token=abc" };
      await tdb.database.sql`select pg_notify('baton_events', ${JSON.stringify(payload)})`;
      await tdb.database.sql`insert into baton.tasks (type, status) values ('noop', 'backlog')`;
      const a = await waitFor(() => anon.of("schedule_deactivated")[0], { what: "anonymous event" });
      const k = await waitFor(() => keyed.of("schedule_deactivated")[0], { what: "keyed event" });
      expect(JSON.parse(a.data)).toEqual({ kind: "schedule_deactivated" });
      expect(JSON.parse(k.data)).toEqual(payload);
      const counts = await waitFor(() => anon.of("tasks")[0], { what: "counts for the anonymous client" });
      expect(JSON.parse(counts.data).counts.backlog).toEqual(expect.any(Number));
      await Promise.all([anon.close(), keyed.close()]);
    } finally {
      await pub.stop();
    }
  });

  it("stopping the instance ends open streams and its watcher registration", async () => {
    const other = await startTestService(tdb.url, { INSTANCE_ID: "events-b", WORKER_ENABLED: "false", SCHEDULER_ENABLED: "false", PRUNE_INTERVAL_MS: "0" });
    const s = await openStream(other.url);
    const registered = () => tdb.database.sql<{ n: number }[]>`select count(*)::int as n from baton.dashboard_watchers where instance_id = 'events-b'`;
    expect((await registered())[0].n).toBe(1);
    await other.stop();
    await waitFor(() => s.ended, { what: "stream ended", timeoutMs: 5000 });
    expect((await registered())[0].n).toBe(0);
  });
});
