/**
 * The CLI's commands, as DESIGN.md lists them (the queues commands live in queues.ts). Each
 * declares its flags for node:util parseArgs, its positional arguments and a help text; main.ts
 * parses and dispatches. API commands go through baton/client; start, migrate and keygen load the
 * server's modules only when they run, so `baton status` starts quickly.
 */
import type { CreateTask, Progress, Schedule, Task, TaskDetail, TaskLog } from "../client/index.js";
import { type Command, ids, int, oneOf, print, str, UsageError } from "./command.js";
import { cell, fields, table, time } from "./format.js";
import { QUEUE_COMMANDS } from "./queues.js";

const TASK_COLUMNS = ["ID", "STATUS", "TYPE", "PRI", "TRIES", "TITLE", "CREATED"];
const taskRow = (t: Task) => [t.id, t.status, t.type, t.priority, `${t.attempts}/${t.maxAttempts}`, cell(t.title, 40), time(t.createdAt)];
const LOG_COLUMNS = ["TIME", "TASK", "TRY", "EVENT", "INSTANCE", "MESSAGE"];
const logRow = (l: TaskLog) => [time(l.createdAt), l.taskId, l.attempt, l.event, l.instanceId, cell(l.message, 80)];

function trigger(s: Schedule): string {
  const t = s.trigger;
  if (t.kind === "cron") return `cron ${t.expression} ${t.timezone}`;
  if (t.kind === "interval") return `every ${t.seconds}s`;
  return `once ${time(t.at)}`;
}
const SCHEDULE_COLUMNS = ["ID", "NAME", "STATUS", "TYPE", "TRIGGER", "NEXT RUN", "LAST RUN"];
/** `40% parsing (2026-11-24 09:00:00Z)`: a task's last reported progress. */
const progressText = (p: NonNullable<Progress>) => `${p.percent}%${p.message ? ` ${p.message}` : ""} (${time(p.at)})`;

/**
 * The key/value block of `tasks show`: the task's fields as the API names them, with the workflow
 * fields only where they say something (progress once reported, parents and dependents when there
 * are any, onParentFailure on a task with parents, canceledBy when a parent canceled it).
 */
function taskFields(t: Omit<TaskDetail, "conversations" | "logs">): Record<string, unknown> {
  const shown: Record<string, unknown> = { ...t };
  if (t.progress) shown.progress = progressText(t.progress);
  else delete shown.progress;
  if (t.dependsOn.length) shown.dependsOn = t.dependsOn.join(", ");
  else {
    delete shown.dependsOn;
    delete shown.onParentFailure;
  }
  if (t.dependents.length) shown.dependents = t.dependents.join(", ");
  else delete shown.dependents;
  if (t.canceledBy === null) delete shown.canceledBy;
  return shown;
}

const scheduleRow = (s: Schedule) => [s.id, s.name, s.status, s.type, trigger(s), time(s.nextRunAt), time(s.lastRunAt)];

/** An id as given: the server decides what a valid id is, and answers a problem when it is not. */
const id = (s: string) => s as unknown as number;

const taskAction = (name: "cancel" | "retry", verb: string): Command => ({
  name,
  args: ["ID"],
  summary: name === "cancel" ? "Cancel a backlog, pending, retrying or processing task" : "Move a failed or canceled task back to pending",
  options: {},
  run: async (ctx) => {
    const path = name === "cancel" ? "/api/tasks/{id}/cancel" : "/api/tasks/{id}/retry";
    const t = await ctx.client().POST(path, { params: { path: { id: id(ctx.args[0]) } } });
    return print(ctx, t, () => `task ${t.id} ${verb}: ${t.status}`);
  },
});

const scheduleAction = (verb: "pause" | "resume" | "trigger"): Command => ({
  name: `schedules ${verb}`,
  args: ["ID"],
  summary: { pause: "Pause an active schedule", resume: "Resume a paused or inactive schedule", trigger: "Run a schedule now (one task)" }[verb],
  options: {},
  run: async (ctx) => {
    const c = ctx.client();
    const params = { params: { path: { id: id(ctx.args[0]) } } };
    if (verb === "trigger") {
      const t = await c.POST("/api/schedules/{id}/trigger", params);
      return print(ctx, t, () => `schedule ${ctx.args[0]} triggered: task ${t.id} ${t.status}`);
    }
    const s = await c.POST(verb === "pause" ? "/api/schedules/{id}/pause" : "/api/schedules/{id}/resume", params);
    return print(ctx, s, () => `schedule ${s.id} ${s.name}: ${s.status}${s.nextRunAt ? `, next run ${time(s.nextRunAt)}` : ""}`);
  },
});

/** Where this package lives: dist/src/cli in a build, src/cli under tsx. */
const root = () => new URL(import.meta.url.includes("/dist/") ? "../../../" : "../../", import.meta.url);

export const COMMANDS: Command[] = [
  {
    name: "start",
    args: [],
    summary: "Migrate, then serve (what npm start runs: builds first when the build is stale)",
    options: {},
    help: ["Configuration comes from the environment (README, Configuration)."],
    run: async () => {
      await import(new URL("scripts/start.mjs", root()).href);
      // The server runs until SIGTERM; main.js owns the process from here on.
      return new Promise<number>(() => {});
    },
  },
  {
    name: "migrate",
    args: [],
    summary: "Apply pending migrations to DATABASE_URL (unset: the embedded Postgres) and exit",
    options: {},
    run: async (ctx) => {
      const { loadConfig } = await import("../config.js");
      const { createSql } = await import("../db/client.js");
      const { migrate } = await import("../db/migrate.js");
      const config = loadConfig();
      // The advisory lock that keeps instances from migrating at once needs a session: through a
      // transaction-mode pooler it would not hold, so the direct WORKER_DATABASE_URL wins, as at start.
      let url = config.WORKER_DATABASE_URL ?? config.DATABASE_URL;
      let embedded: { stop(): Promise<void> } | null = null;
      if (!url) {
        const { startEmbeddedPostgres } = await import("../db/embedded.js");
        const pg = await startEmbeddedPostgres({ dir: config.EMBEDDED_PG_DIR, port: config.EMBEDDED_PG_PORT });
        embedded = pg;
        url = pg.url;
      }
      const sql = createSql(url, 1);
      try {
        const applied = await migrate(sql, url);
        return print(ctx, { applied }, () => (applied.length ? `applied: ${applied.join(", ")}` : "up to date: no migration to apply"));
      } finally {
        await sql.end();
        await embedded?.stop();
      }
    },
  },
  {
    name: "keygen",
    args: [],
    summary: "Print a new API key and its SHA-256 hash (the hash goes into API_KEY_HASHES)",
    options: {},
    run: async (ctx) => {
      const { generateKey } = await import("../api/security/keys.js");
      const k = generateKey();
      return print(ctx, k, () => `key:  ${k.key}\nhash: ${k.hash}`);
    },
  },
  {
    name: "enqueue",
    args: ["TYPE"],
    summary: "Create a task",
    options: {
      payload: { type: "string" },
      priority: { type: "string" },
      queue: { type: "string" },
      title: { type: "string" },
      "run-at": { type: "string" },
      "max-attempts": { type: "string" },
      "dedupe-key": { type: "string" },
      "depends-on": { type: "string" },
      "on-parent-failure": { type: "string" },
      hold: { type: "boolean" },
      wait: { type: "boolean" },
      timeout: { type: "string" },
    },
    help: [
      "--payload JSON       the task type's parameters (an object)",
      "--priority N         higher runs sooner (default 0)",
      "--queue Q            tasks sharing a queue run one at a time",
      "--title T, --run-at ISO, --max-attempts N, --dedupe-key K",
      "--depends-on IDS     parent task ids, comma-separated (e.g. 41,42): the task waits",
      "                     until every parent completed",
      "--on-parent-failure cancel|continue",
      "                     a parent that ends failed or canceled cancels this task",
      "                     (cancel, the default) or releases it (continue)",
      "--hold               create in backlog (released later; not with --depends-on)",
      "--wait               wait for the outcome; exit 1 unless it completed",
      "--timeout MS         how long --wait waits (default 60000)",
    ],
    run: async (ctx) => {
      const f = ctx.flags;
      let payload: Record<string, unknown> | undefined;
      if (typeof f.payload === "string") {
        try {
          payload = JSON.parse(f.payload);
        } catch {
          throw new UsageError("--payload must be JSON");
        }
      }
      const body: CreateTask = {
        type: ctx.args[0],
        payload,
        priority: int("priority", f.priority),
        queue: str(f.queue),
        title: str(f.title),
        runAt: str(f["run-at"]),
        maxAttempts: int("max-attempts", f["max-attempts"]),
        dedupeKey: str(f["dedupe-key"]),
        hold: f.hold === true ? true : undefined,
        dependsOn: ids("depends-on", f["depends-on"]),
        onParentFailure: oneOf("on-parent-failure", f["on-parent-failure"], ["cancel", "continue"] as const),
      };
      const c = ctx.client();
      if (!f.wait) {
        const t = await c.POST("/api/tasks", { body });
        return print(ctx, t, () => `task ${t.id} ${t.status}`);
      }
      const t = await c.createAndWait(body, { timeoutMs: int("timeout", f.timeout) ?? 60_000, signal: ctx.interrupted });
      print(ctx, t, () => `task ${t.id} ${t.status}${t.lastError ? `: ${t.lastError}` : ""}`);
      return t.status === "completed" ? 0 : 1;
    },
  },
  {
    name: "tasks list",
    args: [],
    summary: "List tasks, newest first",
    options: {
      status: { type: "string" },
      type: { type: "string" },
      queue: { type: "string" },
      search: { type: "string" },
      limit: { type: "string" },
      cursor: { type: "string" },
    },
    help: ["--status S[,S]  --type T  --queue Q  --search TEXT  --limit N (default 20)  --cursor C (from a previous page)"],
    run: async (ctx) => {
      const f = ctx.flags;
      const query = {
        status: str(f.status),
        type: str(f.type),
        queue: str(f.queue),
        search: str(f.search),
        limit: int("limit", f.limit) ?? 20,
        cursor: str(f.cursor),
      };
      const page = await ctx.client().GET("/api/tasks", { params: { query } });
      return print(ctx, page, () => {
        const more = page.nextCursor ? `\nmore: --cursor ${page.nextCursor}` : "";
        return `${table(TASK_COLUMNS, page.items.map(taskRow))}\n${page.items.length} of ${page.totalEstimated ? "about " : ""}${page.total}${more}`;
      });
    },
  },
  {
    name: "tasks show",
    args: ["ID"],
    summary: "A task with its progress, parents and dependents, conversations and latest logs",
    options: {},
    run: async (ctx) => {
      const t = await ctx.client().GET("/api/tasks/{id}", { params: { path: { id: id(ctx.args[0]) } } });
      return print(ctx, t, () => {
        const { conversations, logs, ...task } = t;
        const parts = [fields(taskFields(task))];
        if (conversations.length) parts.push(table(["ID", "ROLE", "STATUS", "CONTENT"], conversations.map((c) => [c.id, c.role, c.status, cell(c.content, 80)])));
        if (logs.length) parts.push(table(LOG_COLUMNS, logs.map(logRow)));
        return parts.join("\n\n");
      });
    },
  },
  taskAction("cancel", "canceled"),
  taskAction("retry", "retried"),
  {
    name: "logs tail",
    args: [],
    summary: "Print execution log rows as they are written, until Ctrl-C (live, from the /events stream)",
    options: { task: { type: "string" }, lines: { type: "string" } },
    help: ["--task ID   only this task's rows", "--lines N   how many of the latest rows to print first (default 10)", "--json      one JSON object per line"],
    run: async (ctx) => {
      const taskId = int("task", ctx.flags.task);
      const backlog = int("lines", ctx.flags.lines) ?? 10;
      let header = !ctx.json;
      for await (const row of ctx.client().followLogs({ taskId, backlog, signal: ctx.interrupted })) {
        if (ctx.json) ctx.out(JSON.stringify(row));
        else {
          // Rows arrive one by one: each is a line of its own, the header printed once.
          const lines = table(LOG_COLUMNS, [logRow(row)]).split("\n");
          ctx.out(header ? lines.join("\n") : lines[1]);
          header = false;
        }
      }
      return 0;
    },
  },
  {
    name: "schedules list",
    args: [],
    summary: "List schedules",
    options: { status: { type: "string" }, type: { type: "string" }, limit: { type: "string" } },
    help: ["--status active|paused|inactive  --type T  --limit N (default 100)"],
    run: async (ctx) => {
      const status = str(ctx.flags.status) as "active" | "paused" | "inactive" | undefined;
      const query = { status, type: str(ctx.flags.type), limit: int("limit", ctx.flags.limit) };
      const page = await ctx.client().GET("/api/schedules", { params: { query } });
      return print(ctx, page, () => `${table(SCHEDULE_COLUMNS, page.items.map(scheduleRow))}\n${page.items.length} of ${page.total}`);
    },
  },
  scheduleAction("pause"),
  scheduleAction("resume"),
  scheduleAction("trigger"),
  ...QUEUE_COMMANDS,
  {
    name: "status",
    args: [],
    summary: "This instance, every live instance and the task counts by status",
    options: {},
    run: async (ctx) => {
      const s = await ctx.client().GET("/api/status");
      return print(ctx, s, () =>
        [
          `instance ${s.instance.id} (baton ${s.instance.version}), running ${s.instance.running.length} of ${s.instance.concurrency}`,
          table(Object.keys(s.counts).map((k) => k.toUpperCase()), [Object.values(s.counts)]),
          table(
            ["INSTANCE", "HOST", "PORT", "PID", "VERSION", "RUNNING", "HEARTBEAT"],
            s.instances.map((i) => [i.id, i.host, i.port, i.pid, i.version, `${i.running}/${i.concurrency}`, time(i.heartbeatAt)]),
          ),
        ].join("\n\n"),
      );
    },
  },
];
