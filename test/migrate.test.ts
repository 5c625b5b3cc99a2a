/**
 * The migration runner: checksums per file (a changed applied file stops start-up, naming it;
 * rows from before checksums are backfilled), the migration's own error reaches the caller even
 * when the session dies under it, /ready answers 503 until the database is migrated, and two
 * processes starting together on an empty database both come up with every migration applied once.
 */
import { randomBytes } from "node:crypto";
import { appendFileSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createApp } from "../src/api/app.js";
import { TaskCreator } from "../src/api/tasks/create.js";
import { loadConfig } from "../src/config.js";
import { createDatabase, createSql } from "../src/db/client.js";
import { MIGRATIONS_DIR, migrate, migrationChecksum } from "../src/db/migrate.js";
import { createLogger } from "../src/log.js";
import { createTestDb, dbUrl, type TestDb } from "./helpers/db.js";
import { spawnInstance } from "./helpers/process.js";

const FILES = readdirSync(MIGRATIONS_DIR).filter((f) => /^\d{4}_.*\.sql$/.test(f)).sort();
const ROOT = path.resolve(import.meta.dirname, "..");

let t: TestDb;

beforeAll(async () => {
  t = await createTestDb();
});
afterAll(async () => {
  await t.drop();
});

/** A copy of migrations/ to change without touching the real one. */
function migrationsCopy(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "baton-migrations-"));
  cpSync(MIGRATIONS_DIR, dir, { recursive: true });
  return dir;
}

/** A new database with nothing in it (not cloned from the migrated template). */
async function emptyDb(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `baton_t${inject("template").replace("baton_tpl_", "")}_${randomBytes(4).toString("hex")}`;
  const admin = createSql(inject("adminUrl"), 1);
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  return {
    url: dbUrl(name),
    drop: async () => {
      const a = createSql(inject("adminUrl"), 1);
      await a.unsafe(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}

describe("checksums", () => {
  it("an applied migration whose file changed stops migrate() with an error naming the file", async () => {
    const copy = migrationsCopy();
    try {
      appendFileSync(path.join(copy, FILES[1]), "\n-- edited after it was applied\n");
      await expect(migrate(t.database.sql, t.url, { dir: copy })).rejects.toThrow(FILES[1]);
      // the unchanged set still passes
      expect(await migrate(t.database.sql, t.url)).toEqual([]);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it("records the checksum of migrations applied before checksums existed, without failing", async () => {
    await t.database.sql`update baton.migrations set checksum = null`;
    expect(await migrate(t.database.sql, t.url)).toEqual([]);
    const rows = await t.database.sql<{ name: string; checksum: string }[]>`select name, checksum from baton.migrations order by name`;
    expect(rows.map((r) => r.name)).toEqual(FILES);
    for (const r of rows) expect(r.checksum).toBe(migrationChecksum(readFileSync(path.join(MIGRATIONS_DIR, r.name), "utf8")));
  });
});

describe("errors", () => {
  it("the error of a failing migration is the one the caller sees, even when the unlock fails too", async () => {
    const copy = migrationsCopy();
    const boom = "9999_session_dies.sql";
    try {
      // The session ends mid-migration: the rollback and the unlock that follow fail as well.
      writeFileSync(path.join(copy, boom), "select pg_terminate_backend(pg_backend_pid());\n");
      const err = await migrate(t.database.sql, t.url, { dir: copy }).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toContain(`migration ${boom} failed`);
      // Nothing was recorded, and the lock went with the session: a next run is not blocked.
      const recorded = await t.database.sql`select 1 from baton.migrations where name = ${boom}`;
      expect(recorded.length).toBe(0);
      expect(await migrate(t.database.sql, t.url)).toEqual([]);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});

describe("/ready", () => {
  it("answers 503 before the database is migrated and 200 after", async () => {
    const empty = await emptyDb();
    const database = createDatabase(empty.url, 2);
    try {
      const config = loadConfig({ DATABASE_URL: empty.url, LOG_LEVEL: "silent" });
      const app = createApp({
        config,
        database,
        log: createLogger("silent", config.INSTANCE_ID),
        version: "test",
        startedAt: new Date(),
        creator: new TaskCreator(database),
        worker: null,
      });
      expect((await app.request("/ready")).status).toBe(503);
      expect(await migrate(database.sql, empty.url)).toEqual(FILES);
      const ready = await app.request("/ready");
      expect(ready.status).toBe(200);
      expect((await ready.json()).migrations).toBe(FILES.length);
    } finally {
      await database.close();
      await empty.drop();
    }
  });
});

describe("two instances starting at once on an empty database", () => {
  it("both reach /health and /ready; every migration is applied once", async () => {
    const empty = await emptyDb();
    const ids = [`migrate-a-${process.pid}`, `migrate-b-${process.pid}`];
    const instances = await Promise.all(ids.map((id) => spawnInstance(empty.url, id, { PRUNE_INTERVAL_MS: "0" })));
    try {
      for (const inst of instances) {
        expect((await fetch(`${inst.url}/health`)).status).toBe(200);
        expect((await fetch(`${inst.url}/ready`)).status).toBe(200);
      }
      const sql = createSql(empty.url, 1);
      const rows = await sql<{ name: string }[]>`select name from baton.migrations order by name`;
      await sql.end();
      expect(rows.map((r) => r.name)).toEqual(FILES);
      // One process applied them all; the other waited on the lock and found nothing to do.
      const logs = ids.map((id) => readFileSync(path.join(ROOT, "test-artifacts", `${id}.log`), "utf8"));
      expect(logs.filter((l) => l.includes("migrations applied")).length).toBe(1);
    } finally {
      await Promise.all(instances.map((i) => i.stop()));
      await empty.drop();
    }
  });
});
