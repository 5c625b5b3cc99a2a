/**
 * Dashboard routes: the pages, the SSE stream (/events) and the static assets. Pages only read;
 * every action goes through the JSON API from the page script.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Child } from "hono/jsx";
import { streamSSE } from "hono/streaming";
import type { AppEnv } from "../api/deps.js";
import { positiveId } from "../api/schemas.js";
import { isAuthorized } from "../api/security/auth.js";
import { decodeTaskCursor, encodeTaskCursor } from "../api/tasks/cursor.js";
import { ListQuery } from "../api/tasks/tasks.schemas.js";
import type { Config } from "../config.js";
import type { Db } from "../db/client.js";
import { listConversations } from "../db/queries/conversations.js";
import { countsByType, instancesOverview, listSchedules, taskTypeNames, throughput, typeStats } from "../db/queries/dashboard.js";
import { latestLogs } from "../db/queries/logs.js";
import { recentDeliveries } from "../db/queries/notify.js";
import { listQueues } from "../db/queries/queues.js";
import { countByStatus, getTask, listTasks } from "../db/queries/tasks.js";
import { edgesOf, workflowGraph } from "../db/queries/workflows.js";
import type { TaskStatus } from "../db/types.js";
import { AppError } from "../domain/errors.js";
import type { Logger } from "../log.js";
import { loadNotificationSettings } from "../notify/settings.js";
import { describeTaskTypes, taskTypes } from "../worker/registry.js";
import { loadAssets } from "./assets.js";
import type { EventHub, SseClient } from "./events.js";
import { Layout, type PageInfo } from "./layout.js";
import { InstanceTable, Overview, type OverviewData } from "./pages/overview.js";
import { Queues } from "./pages/queues.js";
import { Schedules } from "./pages/schedules.js";
import { Settings } from "./pages/settings.js";
import { TaskDetail } from "./pages/task.js";
import { TaskList } from "./pages/tasks.js";
import { TaskTypes } from "./pages/types.js";

const PAGE_SIZE = 50;
/** The tasks page lists newest first, the API's default order, so cursors work in both. */
const PAGE_SORT = "id";
const PAGE_ORDER = "desc";
/** The /tasks page's filters, checked by the same rules as GET /api/tasks (unknown keys ignored). */
const TasksPageQuery = ListQuery.pick({ status: true, type: true, scheduleId: true, search: true, cursor: true });
/**
 * Overview statistics are shared by every page view of this instance for at least this long, and
 * for 20x the time the last computation took: the 24-hour per-type statistics read every outcome
 * row of the day (measured: ~1 s for 200,000 rows on the development machine), so a busy
 * cluster with an open overview recomputes them every ~20 s, not every 2 s.
 */
const STATS_TTL_MS = 2000;
const STATS_HOURS = 24;
/** Sent by static/live.js when it re-reads a page only for its live regions. */
const LIVE_REFRESH_HEADER = "x-baton-refresh";
/** Unflushed SSE messages after which a client that does not read is dropped. */
const MAX_PENDING_WRITES = 100;

export interface DashboardDeps {
  config: Config;
  db: Db;
  hub: EventHub;
  log: Logger;
}

export function dashboardRoutes(deps: DashboardDeps) {
  const { db, hub, config } = deps;
  const me = config.INSTANCE_ID;

  let statsCache: { at: number; ttl: number; value: Promise<Omit<OverviewData, "counts" | "links" | "instances">> } | null = null;
  const overviewStats = () => {
    if (!statsCache || Date.now() - statsCache.at > statsCache.ttl) {
      const t0 = Date.now();
      const entry: NonNullable<typeof statsCache> = {
        at: t0,
        ttl: STATS_TTL_MS,
        value: Promise.all([throughput(db), typeStats(db, STATS_HOURS)]).then(([t, types]) => {
          entry.ttl = Math.max(STATS_TTL_MS, 20 * (Date.now() - t0));
          return { throughput: t, types, statsHours: STATS_HOURS };
        }),
      };
      statsCache = entry;
      entry.value.catch(() => {
        if (statsCache === entry) statsCache = null;
      });
    }
    return statsCache.value;
  };

  return (app: OpenAPIHono<AppEnv>) => {
    const a = loadAssets();
    const render = async (c: Context, info: Omit<PageInfo, "instanceId" | "assets">, body: Child, status: 200 | 400 | 404 = 200) => {
      const el = (
        <Layout {...info} instanceId={me} assets={{ css: a.url("baton.css"), js: a.url("baton.js") }}>
          {body}
        </Layout>
      );
      c.header("cache-control", "no-store");
      return c.html(`<!doctype html>${await el.toString()}`, status);
    };

    // /assets/<version>/<name> (what pages link to) or /assets/<name>. Only names read at start
    // are served; a version other than the current one gets the current file, uncached.
    app.get("/assets/:first/:name?", (c) => {
      const [version, name] = c.req.param("name") === undefined ? [null, c.req.param("first")] : [c.req.param("first"), c.req.param("name")];
      const asset = a.files.get(name ?? "");
      if (!asset) return c.notFound();
      c.header("content-type", asset.type);
      c.header("cache-control", version === a.version ? "public, max-age=31536000, immutable" : "no-cache");
      return c.body(asset.body);
    });

    app.get("/", async (c) => {
      // Instances are read fresh (cheap, and heartbeat ages must be current); the rest may be cached.
      const [counts, stats, instances] = await Promise.all([countByStatus(db), overviewStats(), instancesOverview(db, config.INSTANCE_DEAD_AFTER_MS)]);
      // Without a key (PUBLIC_DASHBOARD) the overview is all there is: no links into task lists.
      return render(c, { title: "Overview", page: "overview" }, <Overview data={{ counts, ...stats, instances, links: isAuthorized(c) }} />);
    });

    app.get("/tasks", async (c) => {
      // A bad filter or a forged cursor is the client's mistake: a 400 page, as the API answers.
      const parsed = TasksPageQuery.safeParse(c.req.query());
      let cursor: ReturnType<typeof decodeTaskCursor> | undefined;
      try {
        if (!parsed.success) throw new AppError("VALIDATION", parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
        cursor = parsed.data.cursor ? decodeTaskCursor(parsed.data.cursor, PAGE_SORT, PAGE_ORDER) : undefined;
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        return render(
          c,
          { title: "Invalid task filter", page: "tasks" },
          <p>
            This task list cannot be shown ({err.message.slice(0, 300)}). <a href="/tasks">All tasks</a>
          </p>,
          400,
        );
      }
      const q = parsed.data;
      const statuses = (q.status ?? []) as TaskStatus[];
      const status = statuses.length === 1 ? statuses[0] : "";
      const type = q.type ?? "";
      const search = q.search ?? "";
      const scheduleId = q.scheduleId;
      const [r, dbTypes] = await Promise.all([
        listTasks(db, {
          status: statuses.length ? statuses : undefined,
          type: type || undefined,
          search: search || undefined,
          scheduleId,
          sort: PAGE_SORT,
          order: PAGE_ORDER,
          limit: PAGE_SIZE,
          cursor,
        }),
        taskTypeNames(db),
      ]);
      const base = new URLSearchParams();
      if (statuses.length) base.set("status", statuses.join(","));
      if (type) base.set("type", type);
      if (search) base.set("search", search);
      if (scheduleId) base.set("scheduleId", String(scheduleId));
      const href = (extra: Record<string, string>) => {
        const p = new URLSearchParams(base);
        for (const [k, v] of Object.entries(extra)) p.set(k, v);
        const s = p.toString();
        return s ? `/tasks?${s}` : "/tasks";
      };
      const types = [...new Set([...taskTypes().map((t) => t.name), ...dbTypes])].sort();
      return render(
        c,
        { title: "Tasks", page: "tasks" },
        <TaskList
          data={{
            items: r.items,
            total: r.total,
            totalEstimated: r.totalEstimated,
            nextHref: r.next ? href({ cursor: encodeTaskCursor(r.next, PAGE_SORT, PAGE_ORDER) }) : null,
            firstHref: cursor ? href({}) : null,
            filter: { status, type, search },
            types,
          }}
        />,
      );
    });

    app.get("/tasks/:id", async (c) => {
      const raw = c.req.param("id");
      const parsedId = positiveId().safeParse(raw);
      const id = parsedId.success ? parsedId.data : null;
      const task = id ? await getTask(db, id) : undefined;
      if (!id || !task) {
        return render(
          c,
          { title: "Task not found", page: "task" },
          <p>
            There is no task {raw.slice(0, 20)}. <a href="/tasks">All tasks</a>
          </p>,
          404,
        );
      }
      const [conversations, logs, edges] = await Promise.all([listConversations(db, id), latestLogs(db, id, 200), edgesOf(db, id)]);
      // A live re-render (static/live.js) swaps only the live regions, which do not hold the
      // graph: it is not read for them (static/graph.js keeps the drawn one current).
      const regionsOnly = c.req.header(LIVE_REFRESH_HEADER) === "regions";
      const linked = edges.dependsOn.length > 0 || edges.dependents.length > 0;
      const graph = linked && !regionsOnly ? await workflowGraph(db, id) : null;
      return render(c, { title: `Task ${id}`, page: "task" }, <TaskDetail data={{ task, conversations, logs, ...edges, graph }} />);
    });

    app.get("/schedules", async (c) => {
      const items = await listSchedules(db);
      const types = taskTypes()
        .map((t) => t.name)
        .filter((n) => n !== "notify");
      return render(c, { title: "Schedules", page: "schedules" }, <Schedules data={{ items, types }} />);
    });

    app.get("/queues", async (c) => {
      const items = await listQueues(db);
      return render(c, { title: "Queues", page: "queues" }, <Queues items={items} />);
    });

    app.get("/task-types", async (c) => {
      const counts = await countsByType(db);
      const registered = describeTaskTypes();
      const names = new Set(registered.map((t) => t.name));
      const rows = [
        ...registered.map((t) => ({ ...t, registered: true, counts: counts.get(t.name) ?? {} })),
        ...[...counts.keys()]
          .filter((n) => !names.has(n))
          .sort()
          .map((n) => ({ name: n, description: "", parameters: null, registered: false, counts: counts.get(n) ?? {} })),
      ];
      return render(c, { title: "Task types", page: "task-types" }, <TaskTypes rows={rows} />);
    });

    app.get("/instances", async (c) => {
      const rows = await instancesOverview(db, config.INSTANCE_DEAD_AFTER_MS);
      return render(
        c,
        { title: "Instances", page: "instances" },
        <section id="live-instances" data-live="" aria-label="Instances">
          <p class="muted">
            An instance counts as dead when its heartbeat is older than {Math.round(config.INSTANCE_DEAD_AFTER_MS / 1000)} s. Ages are measured by the
            database clock.
          </p>
          <InstanceTable rows={rows} full />
        </section>,
      );
    });

    app.get("/settings", async (c) => {
      const [settings, deliveries] = await Promise.all([loadNotificationSettings(db), recentDeliveries(db, 20)]);
      return render(c, { title: "Settings", page: "settings" }, <Settings data={{ settings, deliveries }} />);
    });

    // One SSE stream per open page. Writes are not awaited one by one: a client that stops
    // reading (its TCP window full) would otherwise stall the writer forever. More than
    // MAX_PENDING_WRITES unflushed messages and the client is dropped; EventSource reconnects.
    app.get("/events", (c) => {
      c.header("x-accel-buffering", "no"); // nginx: do not buffer the stream
      return streamSSE(
        c,
        async (stream) => {
          let finish!: () => void;
          const done = new Promise<void>((r) => {
            finish = r;
          });
          let pending = 0;
          const write = (w: () => Promise<unknown>) => {
            if (pending >= MAX_PENDING_WRITES) return finish();
            pending++;
            w().then(
              () => pending--,
              () => finish(),
            );
          };
          // Without a key (PUBLIC_DASHBOARD) a client gets counts, and of any other event only its
          // name: forwarded payloads can carry schedule names and error text.
          const full = isAuthorized(c);
          const client: SseClient = {
            send: (event, data) =>
              write(() => stream.writeSSE({ event, data: JSON.stringify(full || event === "tasks" ? data : { kind: event }) })),
            close: () => finish(),
          };
          stream.onAbort(() => finish());
          const unsubscribe = await hub.subscribe(client);
          const keepalive = setInterval(() => write(() => stream.write(": keepalive\n\n")), config.SSE_KEEPALIVE_MS);
          try {
            const counts = await hub.counts();
            write(() => stream.writeSSE({ event: "hello", retry: 2000, data: JSON.stringify({ instanceId: me, counts, at: new Date().toISOString() }) }));
            if (!hub.closed) await done;
          } finally {
            clearInterval(keepalive);
            unsubscribe();
          }
        },
        async (err) => {
          deps.log.warn({ err: err.message }, "event stream failed");
        },
      );
    });
  };
}
