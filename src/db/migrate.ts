/**
 * Applies graphile-worker's migrations, then baton's plain SQL files from migrations/, each once
 * and in its own transaction, recorded in baton.migrations with the SHA-256 of the file. A session
 * advisory lock serialises instances that start together: the second waits, then finds nothing
 * left to do.
 *
 * A small runner rather than kysely's Migrator: the migrations are plain .sql files a DBA reads,
 * and Migrator records names only, so the checksum check would have to be built beside it anyway.
 */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Logger, runMigrations } from "graphile-worker";
import type { Sql } from "./client.js";
import { guardReserved } from "./connection-guard.js";

/** Arbitrary constant: pg_advisory_lock key for "baton migrations". */
const MIGRATION_LOCK = 7_240_301_117;

export const MIGRATIONS_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  // src/db → ../../migrations; dist/src/db → ../../../migrations
  fileURLToPath(import.meta.url).includes(`${path.sep}dist${path.sep}`) ? "../../../migrations" : "../../migrations",
);

interface MigrationFile {
  name: string;
  text: string;
  checksum: string;
}

/** SHA-256 of a migration's text. Line endings are normalised so a CRLF checkout is not a change. */
export function migrationChecksum(text: string): string {
  return createHash("sha256").update(text.replace(/\r\n/g, "\n")).digest("hex");
}

async function readMigrations(dir: string): Promise<MigrationFile[]> {
  const names = (await readdir(dir)).filter((f) => /^\d{4}_.*\.sql$/.test(f)).sort();
  return Promise.all(
    names.map(async (name) => {
      const text = await readFile(path.join(dir, name), "utf8");
      return { name, text, checksum: migrationChecksum(text) };
    }),
  );
}

/**
 * Brings the database up to date; returns the names of the files it applied (empty when another
 * instance got there first). Fails, naming the file, when an applied migration's file changed.
 */
export async function migrate(sql: Sql, connectionString: string, opts: { dir?: string } = {}): Promise<string[]> {
  const files = await readMigrations(opts.dir ?? MIGRATIONS_DIR);
  // guardReserved: a session that died mid-migration is not handed back to the pool on release,
  // where the next statement of anyone would be written to its closed socket.
  // (It watches unsafe() calls only, so every statement here goes through unsafe().)
  const reserved = await guardReserved(sql).reserve();
  try {
    await reserved.unsafe("select pg_advisory_lock($1)", [MIGRATION_LOCK]);
    const unlock = () => reserved.unsafe("select pg_advisory_unlock($1)", [MIGRATION_LOCK]);
    const applied = await applyPending(reserved, connectionString, files).catch(async (err: unknown) => {
      // The migration's error is the one to report. If the unlock fails too, the session is gone,
      // and with it the lock.
      await unlock().catch(() => {});
      throw err;
    });
    await unlock();
    return applied;
  } finally {
    reserved.release();
  }
}

async function applyPending(reserved: Sql, connectionString: string, files: MigrationFile[]): Promise<string[]> {
  await runMigrations({ connectionString, logger: silentLogger() });
  await reserved.unsafe(`
    create schema if not exists baton;
    create table if not exists baton.migrations (
      name text primary key,
      applied_at timestamptz not null default now()
    );
    comment on table baton.migrations is 'baton schema migrations applied (file names from migrations/)';
    alter table baton.migrations add column if not exists checksum text;
    comment on column baton.migrations.checksum is 'SHA-256 of the file when it was applied; start-up stops if the file changed since';
  `);
  const done = new Map(
    (await reserved.unsafe<{ name: string; checksum: string | null }[]>("select name, checksum from baton.migrations")).map((r) => [r.name, r.checksum]),
  );
  for (const f of files) {
    if (!done.has(f.name)) continue;
    const recorded = done.get(f.name);
    if (recorded === null) {
      // Applied before checksums were recorded: take the file as it is now.
      await reserved.unsafe("update baton.migrations set checksum = $1 where name = $2", [f.checksum, f.name]);
    } else if (recorded !== f.checksum) {
      throw new Error(
        `migration ${f.name} was changed after it was applied (recorded sha256 ${recorded}, file now ${f.checksum}): restore the file and put the change in a new migration`,
      );
    }
  }
  const applied: string[] = [];
  for (const f of files) {
    if (done.has(f.name)) continue;
    await reserved.unsafe("begin");
    try {
      await reserved.unsafe(f.text);
      await reserved.unsafe("insert into baton.migrations (name, checksum) values ($1, $2)", [f.name, f.checksum]);
      await reserved.unsafe("commit");
    } catch (err) {
      await reserved.unsafe("rollback").catch(() => {}); // a dead session rolls back by itself
      throw new Error(`migration ${f.name} failed: ${(err as Error).message}`, { cause: err });
    }
    applied.push(f.name);
  }
  return applied;
}

function silentLogger(): Logger {
  return new Logger(() => () => {});
}
