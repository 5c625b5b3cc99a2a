/**
 * The one Postgres server of a run: DATABASE_URL, or an embedded server with its own data
 * directory and port. Each system gets a fresh database on it (dropped and created at start), so
 * all systems share the server, its settings and its disk, and none sees another's tables.
 */
import { readFileSync } from "node:fs";
import { createSql, type Sql } from "../../src/db/client.js";
import { startEmbeddedPostgres } from "../../src/db/embedded.js";
import { type Metered, statFields } from "./cpu.js";
import type { BenchOptions } from "./options.js";

export interface Server extends Metered {
  adminUrl: string;
  embedded: boolean;
  version: string;
  settings: Record<string, string>;
  /** pg_stat_statements is loaded (shared_preload_libraries), so statements can be counted. */
  statStatements: boolean;
  urlFor(db: string): string;
  /** Drops (if present) and creates a database; returns its URL. */
  freshDatabase(db: string): Promise<string>;
  /** Drops the databases freshDatabase created (a run against DATABASE_URL leaves nothing behind). */
  dropCreated(): Promise<void>;
  stop(): Promise<void>;
}

export function withDb(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

const SHOWN = ["shared_buffers", "max_connections", "synchronous_commit", "fsync", "wal_level", "work_mem", "max_wal_size", "checkpoint_timeout", "shared_preload_libraries"];

/**
 * The postmaster of the server behind `admin`, when it runs on this machine: the parent of our
 * own backend. Works for the embedded server and for a local DATABASE_URL alike; null for a
 * server on another host or in another pid namespace (its CPU cannot be read here).
 */
async function findPostmaster(admin: Sql): Promise<number | null> {
  const [{ pid }] = await admin<{ pid: number }[]>`select pg_backend_pid() as pid`;
  const ppid = Number(statFields(pid)?.[1]);
  if (!ppid) return null;
  try {
    const comm = readFileSync(`/proc/${ppid}/comm`, "utf8").trim();
    return /^postgres|^postmaster/.test(comm) ? ppid : null;
  } catch {
    return null;
  }
}

function startEmbedded(o: BenchOptions) {
  return startEmbeddedPostgres({ dir: o.pgDir, port: o.pgPort, database: "postgres" }).catch((err: unknown) => {
    throw new Error(
      `could not start the embedded Postgres in ${o.pgDir} on port ${o.pgPort} (is the port taken? choose another with --pg-port): ${String((err as Error)?.message ?? err)}`,
      { cause: err },
    );
  });
}

/**
 * Makes the embedded server's shared_preload_libraries match --statements (ALTER SYSTEM persists
 * in the data directory, so a run without the flag undoes an earlier run's), restarting it when
 * that changes anything. Returns the handle of the server now running.
 */
async function preloadStatements(o: BenchOptions, h: Awaited<ReturnType<typeof startEmbedded>>) {
  const sql = createSql(h.url, 1);
  const [{ setting }] = await sql<{ setting: string }[]>`select setting from pg_settings where name = 'shared_preload_libraries'`;
  const loaded = /pg_stat_statements/.test(setting);
  if (loaded !== o.statements) {
    await sql.unsafe(o.statements ? "alter system set shared_preload_libraries = 'pg_stat_statements'" : "alter system reset shared_preload_libraries");
  }
  await sql.end();
  if (loaded === o.statements) return h;
  await h.stop();
  return startEmbedded(o);
}

export async function startServer(o: BenchOptions): Promise<Server> {
  let adminUrl = o.databaseUrl;
  let stopEmbedded = async () => {};
  if (!adminUrl) {
    const h = await preloadStatements(o, await startEmbedded(o));
    adminUrl = h.url;
    stopEmbedded = h.stop;
  }
  const admin = createSql(adminUrl, 2);
  const [{ version }] = await admin<{ version: string }[]>`select version()`;
  const rows = await admin<{ name: string; setting: string; unit: string | null }[]>`
    select name, setting, unit from pg_settings where name = any(${SHOWN})`;
  const settings = Object.fromEntries(rows.map((r) => [r.name, r.unit ? `${r.setting} (${r.unit})` : r.setting]));
  const created: string[] = [];
  return {
    adminUrl,
    embedded: !o.databaseUrl,
    version,
    settings,
    statStatements: /(^|,)\s*pg_stat_statements\s*(,|$)/.test(settings.shared_preload_libraries ?? ""),
    postmasterPid: await findPostmaster(admin),
    walLsn: async () => (await admin<{ l: string }[]>`select pg_current_wal_lsn()::text as l`)[0].l,
    walBytesSince: async (lsn) => (await admin<{ b: number }[]>`select pg_wal_lsn_diff(pg_current_wal_lsn(), ${lsn}::pg_lsn)::float8 as b`)[0].b,
    urlFor: (db) => withDb(adminUrl!, db),
    freshDatabase: async (db) => {
      await admin.unsafe(`drop database if exists "${db}" with (force)`);
      await admin.unsafe(`create database "${db}"`);
      created.push(db);
      return withDb(adminUrl!, db);
    },
    dropCreated: async () => {
      for (const db of created.splice(0)) await admin.unsafe(`drop database if exists "${db}" with (force)`).catch(() => {});
    },
    stop: async () => {
      await admin.end();
      await stopEmbedded();
    },
  };
}

/** A small admin connection to one database. */
export function connect(url: string, max = 4): Sql {
  return createSql(url, max);
}
