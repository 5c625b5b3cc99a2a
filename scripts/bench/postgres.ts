/**
 * The one Postgres server of a run: DATABASE_URL, or an embedded server with its own data
 * directory and port. Each system gets a fresh database on it (dropped and created at start), so
 * all three share the server, its settings and its disk, and none sees another's tables.
 */
import path from "node:path";
import { createSql, type Sql } from "../../src/db/client.js";
import { startEmbeddedPostgres } from "../../src/db/embedded.js";
import type { BenchOptions } from "./options.js";

export interface Server {
  adminUrl: string;
  embedded: boolean;
  /** Data directory of the embedded server (null with DATABASE_URL: its processes are not ours). */
  dataDir: string | null;
  version: string;
  settings: Record<string, string>;
  urlFor(db: string): string;
  /** Drops (if present) and creates a database; returns its URL. */
  freshDatabase(db: string): Promise<string>;
  stop(): Promise<void>;
}

export function withDb(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

const SHOWN = ["shared_buffers", "max_connections", "synchronous_commit", "fsync", "wal_level", "work_mem", "max_wal_size", "checkpoint_timeout"];

export async function startServer(o: BenchOptions): Promise<Server> {
  let adminUrl = o.databaseUrl;
  let stopEmbedded = async () => {};
  if (!adminUrl) {
    const h = await startEmbeddedPostgres({ dir: o.pgDir, port: o.pgPort, database: "postgres" }).catch((err: unknown) => {
      throw new Error(
        `could not start the embedded Postgres in ${o.pgDir} on port ${o.pgPort} (is the port taken? choose another with --pg-port): ${String((err as Error)?.message ?? err)}`,
        { cause: err },
      );
    });
    adminUrl = h.url;
    stopEmbedded = h.stop;
  }
  const admin = createSql(adminUrl, 2);
  const [{ version }] = await admin<{ version: string }[]>`select version()`;
  const rows = await admin<{ name: string; setting: string; unit: string | null }[]>`
    select name, setting, unit from pg_settings where name = any(${SHOWN})`;
  const settings = Object.fromEntries(rows.map((r) => [r.name, r.unit ? `${r.setting} (${r.unit})` : r.setting]));
  return {
    adminUrl,
    embedded: !o.databaseUrl,
    dataDir: o.databaseUrl ? null : path.resolve(o.pgDir),
    version,
    settings,
    urlFor: (db) => withDb(adminUrl!, db),
    freshDatabase: async (db) => {
      await admin.unsafe(`drop database if exists "${db}" with (force)`);
      await admin.unsafe(`create database "${db}"`);
      return withDb(adminUrl!, db);
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
