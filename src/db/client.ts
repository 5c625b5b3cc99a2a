/**
 * The database client: postgres.js underneath, kysely on top for typed queries. bigint (int8)
 * columns are parsed to JS numbers: ids and counts stay far below 2^53.
 */
import { CamelCasePlugin, Kysely } from "kysely";
import { PostgresJSDialect } from "kysely-postgres-js";
import postgres from "postgres";
import type { DB } from "./types.js";

export type Sql = postgres.Sql;
export type Db = Kysely<DB>;

export interface Database {
  sql: Sql;
  db: Db;
  close(): Promise<void>;
}

export function createSql(url: string, max = 10): Sql {
  return postgres(url, {
    max,
    onnotice: () => {},
    connect_timeout: 10,
    idle_timeout: 60,
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
    dialect: new PostgresJSDialect({ postgres: sql }),
    plugins: [new CamelCasePlugin()],
  });
  return {
    sql,
    db,
    close: async () => {
      await db.destroy();
    },
  };
}
