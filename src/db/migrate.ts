/**
 * Applies graphile-worker's migrations, then baton's plain SQL files from migrations/, each once
 * and in its own transaction, recorded in baton.migrations. A session advisory lock serialises
 * instances that start together: the second waits, then finds nothing left to do.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Logger, runMigrations } from "graphile-worker";
import type { Sql } from "./client.js";

/** Arbitrary constant: pg_advisory_lock key for "baton migrations". */
const MIGRATION_LOCK = 7_240_301_117;

export const MIGRATIONS_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  // src/db → ../../migrations; dist/src/db → ../../../migrations
  fileURLToPath(import.meta.url).includes(`${path.sep}dist${path.sep}`) ? "../../../migrations" : "../../migrations",
);

export async function migrate(sql: Sql, connectionString: string): Promise<string[]> {
  const reserved = await sql.reserve();
  const applied: string[] = [];
  try {
    await reserved`select pg_advisory_lock(${MIGRATION_LOCK})`;
    try {
      await runMigrations({ connectionString, logger: silentLogger() });
      await reserved.unsafe(`
        create schema if not exists baton;
        create table if not exists baton.migrations (
          name text primary key,
          applied_at timestamptz not null default now()
        );
        comment on table baton.migrations is 'baton schema migrations applied (file names from migrations/)';
      `);
      const done = new Set(
        (await reserved<{ name: string }[]>`select name from baton.migrations`).map((r) => r.name),
      );
      const files = (await readdir(MIGRATIONS_DIR)).filter((f) => /^\d{4}_.*\.sql$/.test(f)).sort();
      for (const file of files) {
        if (done.has(file)) continue;
        const text = await readFile(path.join(MIGRATIONS_DIR, file), "utf8");
        await reserved.unsafe("begin");
        try {
          await reserved.unsafe(text);
          await reserved`insert into baton.migrations (name) values (${file})`;
          await reserved.unsafe("commit");
        } catch (err) {
          await reserved.unsafe("rollback");
          throw new Error(`migration ${file} failed: ${(err as Error).message}`, { cause: err });
        }
        applied.push(file);
      }
    } finally {
      await reserved`select pg_advisory_unlock(${MIGRATION_LOCK})`;
    }
  } finally {
    reserved.release();
  }
  return applied;
}

function silentLogger(): Logger {
  return new Logger(() => () => {});
}
