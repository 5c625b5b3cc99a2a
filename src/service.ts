/**
 * The composition root as a function: config → database → migrations → instance registration →
 * worker pool + HTTP API (+ the parts other modules plug in). main.ts calls it for the process;
 * tests call it in-process. stop() is the SIGTERM drain.
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
import { type EmbeddedHandle, startEmbeddedPostgres } from "./db/embedded.js";
import { setPort } from "./db/queries/instances.js";
import { migrate } from "./db/migrate.js";
import { Heartbeat } from "./instance/heartbeat.js";
import { createLogger, type Logger } from "./log.js";
import { OutboundGuard } from "./worker/outbound.js";
import { WorkerService } from "./worker/pool.js";
import "./worker/types/index.js";
import { setOutboundGuard } from "./worker/types/http.js";

export const VERSION: string = JSON.parse(
  readFileSync(new URL(import.meta.url.includes("/dist/") ? "../../package.json" : "../package.json", import.meta.url), "utf8"),
).version;

/** A long-running part with a lifecycle (scheduler, recovery, pruner, notifier...). */
export interface Component {
  name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Plug-ins receive the running core and return components and app extensions. */
export type Plugin = (core: Core) => { components?: Component[]; app?: AppExtensions };

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

const plugins: Plugin[] = [];
/** Registers a plug-in for every service started afterwards (modules call this on import). */
export function registerPlugin(p: Plugin): void {
  plugins.push(p);
}

export async function startService(config: Config, opts: { log?: Logger } = {}): Promise<Service> {
  const log = opts.log ?? createLogger(config.LOG_LEVEL, config.INSTANCE_ID);
  let embedded: EmbeddedHandle | null = null;
  let databaseUrl = config.DATABASE_URL;
  if (!databaseUrl) {
    log.info({ dir: config.EMBEDDED_PG_DIR, port: config.EMBEDDED_PG_PORT }, "DATABASE_URL unset: starting embedded Postgres");
    embedded = await startEmbeddedPostgres({
      dir: config.EMBEDDED_PG_DIR,
      port: config.EMBEDDED_PG_PORT,
      log: (m) => log.debug({ component: "postgres" }, m),
    });
    databaseUrl = embedded.url;
    log.info({ url: databaseUrl.replace(/:[^:@/]*@/, ":***@") }, "embedded Postgres ready");
  }
  const database = createDatabase(databaseUrl, config.DB_POOL_SIZE);
  const applied = await migrate(database.sql, databaseUrl);
  if (applied.length) log.info({ applied }, "migrations applied");
  setOutboundGuard(new OutboundGuard({ allow: config.OUTBOUND_ALLOW, deny: config.OUTBOUND_DENY }));

  const heartbeat = new Heartbeat(
    database.db,
    log.child({ component: "heartbeat" }),
    { id: config.INSTANCE_ID, host: hostname(), port: null, pid: process.pid, version: VERSION, concurrency: config.WORKER_CONCURRENCY },
    config.HEARTBEAT_INTERVAL_MS,
  );
  await heartbeat.start();

  const worker = config.WORKER_ENABLED
    ? new WorkerService({
        config,
        database,
        databaseUrl,
        log: log.child({ component: "worker" }),
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
  const extensions = plugins.map((p) => p(core));
  const components = extensions.flatMap((e) => e.components ?? []);

  const deps: AppDeps = { config, database, log: log.child({ component: "api" }), version: VERSION, startedAt: new Date(), creator, worker };
  const app = createApp(deps, {
    middleware: extensions.flatMap((e) => e.app?.middleware ?? []),
    routes: extensions.flatMap((e) => e.app?.routes ?? []),
    statusSections: extensions.flatMap((e) => e.app?.statusSections ?? []),
  });

  await worker?.start();
  for (const c of components) await c.start();

  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }, () => resolve(s));
  });
  const port = (server.address() as AddressInfo).port;
  await setPort(database.db, config.INSTANCE_ID, port);
  const url = `http://${config.HOST.includes(":") ? `[${config.HOST}]` : config.HOST}:${port}`;
  log.info({ url, instanceId: config.INSTANCE_ID, version: VERSION }, "baton listening");

  let stopping: Promise<void> | null = null;
  let phase = "running";
  const stop = () => {
    stopping ??= (async () => {
      log.info("stopping: no new work will be claimed");
      const closed = new Promise<void>((r) => server.close(() => r()));
      // Idle keep-alive sockets would hold close() open; in-flight requests still finish.
      (server as unknown as { closeIdleConnections?: () => void }).closeIdleConnections?.();
      for (const c of [...components].reverse()) {
        phase = `stopping component ${c.name}`;
        await c.stop().catch((err) => log.error({ err, component: c.name }, "component stop failed"));
        log.debug({ component: c.name }, "component stopped");
      }
      phase = "draining the worker";
      await worker?.stop();
      phase = "marking the instance stopped";
      await heartbeat.stop();
      phase = "closing the HTTP server";
      await Promise.race([closed, new Promise((r) => setTimeout(r, 2000).unref())]);
      phase = "closing database connections";
      await database.close();
      phase = "stopping embedded Postgres";
      await embedded?.stop();
      phase = "stopped";
      log.info("stopped");
    })();
    return stopping;
  };
  /** What stop() is waiting on (for the shutdown watchdog's message). */
  const stopPhase = () => phase;
  return { ...core, port, url, stop, stopPhase };
}
