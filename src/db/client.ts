/**
 * The database client: postgres.js underneath, kysely on top for typed queries. bigint (int8)
 * columns are parsed to JS numbers: ids and counts stay far below 2^53.
 */
import { CamelCasePlugin, Kysely } from "kysely";
import { PostgresJSDialect } from "kysely-postgres-js";
import postgres from "postgres";
import { guardReserved } from "./connection-guard.js";
import { preparingSql } from "./prepared.js";
import type { DB } from "./types.js";

export type Sql = postgres.Sql;
export type Db = Kysely<DB>;

export interface Database {
  sql: Sql;
  db: Db;
  close(): Promise<void>;
}

export function createSql(url: string, max = 10): Sql {
  // postgres.js carries its write-after-close fix from install time (connection-guard.ts)
  return postgres(url, {
    max,
    onnotice: () => {},
    connect_timeout: 10,
    idle_timeout: 60,
    // Reconnect attempts after the database went away: at most 2 s apart (postgres.js's default
    // grows to 20 s, which kept instances waiting long after a restart had finished).
    backoff: (attempt: number) => Math.min(0.1 * 2 ** attempt, 2),
    types: {
      bigint: {
        to: 20,
        from: [20],
        serialize: (x: unknown) => String(x),
        parse: (x: string) => Number(x),
      },
    },
    connection: { application_name: "baton" },
  });
}

export function createDatabase(url: string, max = 10): Database {
  const sql = createSql(url, max);
  const db = new Kysely<DB>({
    // preparingSql: named prepared statements (one round trip instead of two; see prepared.ts)
    dialect: new PostgresJSDialect({ postgres: guardReserved(preparingSql(sql)) }),
    // maintainNestedObjectKeys: only column names are renamed. Without it the plugin also renames
    // keys inside jsonb values (a payload's "msg_type" would reach a webhook as "msgType").
    plugins: [new CamelCasePlugin({ maintainNestedObjectKeys: true })],
  });
  return {
    sql,
    db,
    close: async () => {
      // A connection that died mid-statement never "ends" (postgres.js waits for a ReadyForQuery
      // that cannot come): give the pool 5 s, then terminate what is left.
      await sql.end({ timeout: 5 });
      await db.destroy();
    },
  };
}
