/**
 * Per-file test databases cloned from the migrated template, and a connected Database for
 * assertions in SQL.
 */
import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import { createDatabase, createSql, type Database } from "../../src/db/client.js";

export interface TestDb {
  url: string;
  name: string;
  database: Database;
  drop(): Promise<void>;
}

export function dbUrl(db: string): string {
  const u = new URL(inject("adminUrl"));
  u.pathname = `/${db}`;
  return u.toString();
}

/** CREATE DATABASE ... TEMPLATE <migrated template>: a fresh, migrated database in ~50-200 ms. */
export async function createTestDb(): Promise<TestDb> {
  const tpl = inject("template");
  const ppid = tpl.replace("baton_tpl_", "");
  const name = `baton_t${ppid}_${randomBytes(4).toString("hex")}`;
  const admin = createSql(inject("adminUrl"), 1);
  try {
    await admin.unsafe(`create database ${name} template ${tpl}`);
  } finally {
    await admin.end();
  }
  const url = dbUrl(name);
  const database = createDatabase(url, 5);
  return {
    url,
    name,
    database,
    drop: async () => {
      await database.close();
      const a = createSql(inject("adminUrl"), 1);
      await a.unsafe(`drop database if exists ${name} with (force)`).catch(() => {});
      await a.end();
    },
  };
}
