/**
 * The composition root as a function: config → database → migrations → instance registration →
 * worker pool + HTTP API (+ the plug-ins it is given, src/plugins.ts). main.ts calls it for the
 * process; tests call it in-process with the same plug-in list. stop() is the SIGTERM drain.
 *
 * Every part is registered for stopping the moment it is started, so a start that fails at any
 * step (a port already taken, a component that cannot start) stops what it had started, newest
 * first, and then throws the error that made it fail; the same list, run backwards, is stop().
 */
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import { serve, type ServerType } from "@hono/node-server";
import { type AppExtensions, createApp } from "./api/app.js";
import type { AppDeps } from "./api/deps.js";
import { TaskCreator } from "./api/tasks/create.js";
import type { Config } from "./config.js";
import { createDatabase, type Database } from "./db/client.js";
import { startEmbeddedPostgres } from "./db/embedded.js";
import { setPort } from "./db/queries/instances.js";
import { migrate } from "./db/migrate.js";
import { Heartbeat } from "./instance/heartbeat.js";
import { createLogger, type Logger } from "./log.js";
import { httpSpans } from "./tracing/http.js";
import { OutboundClient, OutboundGuard } from "./worker/outbound.js";
import { WorkerService } from "./worker/pool.js";
import "./worker/types/index.js";

export const VERSION: string = JSON.parse(
  readFileSync(new URL(import.meta.url.includes("/dist/") ? "../../package.json" : "../package.json", import.meta.url), "utf8"),
).version;

/** A long-running part with a lifecycle (scheduler, recovery, pruner, notifier...). */
export interface Component {
  name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** What a plug-in adds to a service: long-running parts and HTTP extensions. */
export interface PluginParts {
  components?: Component[];
  app?: AppExtensions;
}

/**
 * An optional part of baton (security, operations, dashboard, notifications, scheduler). Plug-ins
 * are values listed in src/plugins.ts and handed to startService; importing one registers nothing.
 */
export interface Plugin {
  name: string;
  setup(core: Core): PluginParts;
}

export interface Core {
  config: Config;
  log: Logger;
  database: Database;
  databaseUrl: string;
  worker: WorkerService | null;
  creator: TaskCreator;
}

export interface Service extends Core {
  port: number;
  url: string;
  stop(): Promise<void>;
  stopPhase(): string;
}

/** How long stop() lets in-flight requests finish once the parts behind them have stopped. */
const SERVER_CLOSE_GRACE_MS = 2000;

/**
 * What has been started, in start order. run() stops it newest first; a step that fails is logged
 * and the rest still run (a component that cannot stop must not leave the pool open), and the
 * first failure is returned.
 */
class Teardown {
  private readonly steps: { phase: string; stop: () => Promise<void> }[] = [];
  phase = "running";

  constructor(private readonly log: Logger) {}

  add(phase: string, stop: () => Promise<void>): void {
    this.steps.push({ phase, stop });
  }

  async run(): Promise<{ error: unknown } | null> {
    let failed: { error: unknown } | null = null;
    for (const step of this.steps.splice(0).reverse()) {
      this.phase = step.phase;
      try {
        await step.stop();
      } catch (error) {
        this.log.error({ err: error, phase: step.phase }, "stop step failed");
        failed ??= { error };
      }
    }
    this.phase = "stopped";
    return failed;
  }
}

/**
 * Starts baton: embedded Postgres (when DATABASE_URL is unset), the database pool, migrations,
 * the instance row and its heartbeat, the worker pool, the components of the given plug-ins (in
 * list order) and the HTTP server. If any step throws, what was started is stopped in reverse order and that error is
 * rethrown.
 */
export async function startService(config: Config, opts: { plugins: readonly Plugin[]; log?: Logger }): Promise<Service> {
  const log = opts.log ?? createLogger(config.LOG_LEVEL, config.INSTANCE_ID);
  const teardown = new Teardown(log);
  try {
    return await start(config, opts.plugins, log, teardown);
  } catch (err) {
    log.error({ err }, "start failed; stopping what was started");
    await teardown.run();
    throw err;
  }
}

async function start(config: Config, plugins: readonly Plugin[], log: Logger, teardown: Teardown): Promise<Service> {
  let databaseUrl = config.DATABASE_URL;
  if (!databaseUrl) {
    log.info({ dir: config.EMBEDDED_PG_DIR, port: config.EMBEDDED_PG_PORT }, "DATABASE_URL unset: starting embedded Postgres");
    const embedded = await startEmbeddedPostgres({
      dir: config.EMBEDDED_PG_DIR,
      port: config.EMBEDDED_PG_PORT,
      log: (m) => log.debug({ component: "postgres" }, m),
    });
    teardown.add("stopping embedded Postgres", () => embedded.stop());
    databaseUrl = embedded.url;
    log.info({ url: databaseUrl.replace(/:[^:@/]*@/, ":***@") }, "embedded Postgres ready");
  }
  // WORKER_DATABASE_URL: graphile-worker, LISTEN and the migration lock need a session, which
  // DATABASE_URL through a transaction-mode pooler does not give (README, "PgBouncer").
  const workerUrl = config.WORKER_DATABASE_URL ?? databaseUrl;
  const database = createDatabase(databaseUrl, {
    max: config.DB_POOL_SIZE,
    sessionUrl: config.WORKER_DATABASE_URL,
    prepare: config.DB_PREPARED_STATEMENTS,
  });
  teardown.add("closing database connections", () => database.close());

  // Stopped after the parts behind the requests (an open SSE stream ends with the dashboard's
  // component) and before the pool they query, hence registered here; the server comes last.
  let closed: Promise<void> | null = null;
  teardown.add("closing the HTTP server", async () => {
    if (closed) await Promise.race([closed, new Promise((r) => setTimeout(r, SERVER_CLOSE_GRACE_MS).unref())]);
  });

  const applied = await migrate(database.session, workerUrl);
  if (applied.length) log.info({ applied }, "migrations applied");
  const outbound = new OutboundClient(new OutboundGuard({ allow: config.OUTBOUND_ALLOW, deny: config.OUTBOUND_DENY }));
  teardown.add("closing outbound connections", () => outbound.close());

  const heartbeat = new Heartbeat(
    database.db,
    log.child({ component: "heartbeat" }),
    { id: config.INSTANCE_ID, host: hostname(), port: null, pid: process.pid, version: VERSION, concurrency: config.WORKER_CONCURRENCY },
    config.HEARTBEAT_INTERVAL_MS,
  );
  // Registered before start: a registration that failed halfway is marked stopped all the same.
  teardown.add("marking the instance stopped", () => heartbeat.stop());
  await heartbeat.start();

  const worker = config.WORKER_ENABLED
    ? new WorkerService({
        config,
        database,
        databaseUrl: workerUrl,
        log: log.child({ component: "worker" }),
        outbound,
        options: {
          concurrency: config.WORKER_CONCURRENCY,
          pollIntervalMs: config.WORKER_POLL_INTERVAL_MS,
          localQueueSize: config.WORKER_LOCAL_QUEUE_SIZE,
          completeBatchDelayMs: config.WORKER_COMPLETE_BATCH_DELAY_MS,
          shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
        },
      })
    : null;
  const creator = new TaskCreator(database);
  const core: Core = { config, log, database, databaseUrl, worker, creator };
  const extensions = plugins.map((p) => p.setup(core));
  const components = extensions.flatMap((e) => e.components ?? []);

  const deps: AppDeps = { config, database, log: log.child({ component: "api" }), version: VERSION, startedAt: new Date(), creator, worker };
  const app = createApp(deps, {
    // HTTP server spans first, so auth and rate-limit answers are traced too (a no-op without an SDK)
    middleware: [(a) => a.use("*", httpSpans()), ...extensions.flatMap((e) => e.app?.middleware ?? [])],
    routes: extensions.flatMap((e) => e.app?.routes ?? []),
    statusSections: extensions.flatMap((e) => e.app?.statusSections ?? []),
  });

  if (worker) {
    teardown.add("draining the worker", () => worker.stop());
    await worker.start();
  }
  for (const c of components) {
    // Registered before start, like the heartbeat: a part that fails halfway closes what it opened.
    teardown.add(`stopping component ${c.name}`, async () => {
      await c.stop();
      log.debug({ component: c.name }, "component stopped");
    });
    await c.start();
  }

  const server = await listen(app.fetch, config.PORT, config.HOST);
  teardown.add("stopping the HTTP server", async () => {
    closed = new Promise<void>((r) => server.close(() => r()));
    // Idle keep-alive sockets would hold close() open; in-flight requests still finish.
    (server as unknown as { closeIdleConnections?: () => void }).closeIdleConnections?.();
  });
  const port = (server.address() as AddressInfo).port;
  await setPort(database.db, config.INSTANCE_ID, port);
  const url = `http://${config.HOST.includes(":") ? `[${config.HOST}]` : config.HOST}:${port}`;
  log.info({ url, instanceId: config.INSTANCE_ID, version: VERSION }, "baton listening");

  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      log.info("stopping: no new work will be claimed");
      const failed = await teardown.run();
      if (failed) throw failed.error;
      log.info("stopped");
    })();
    return stopping;
  };
  /** What stop() is waiting on (for the shutdown watchdog's message). */
  const stopPhase = () => teardown.phase;
  return { ...core, port, url, stop, stopPhase };
}

/** Listens, resolving once the port is bound and rejecting when it cannot be (EADDRINUSE, EACCES). */
function listen(fetch: Parameters<typeof serve>[0]["fetch"], port: number, hostname: string): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, port, hostname }, () => {
      server.off("error", reject);
      resolve(server);
    });
    server.once("error", reject);
  });
}
