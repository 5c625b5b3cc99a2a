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
  /** The pool of DATABASE_URL (may be a transaction-mode pooler): statements and transactions. */
  sql: Sql;
  db: Db;
  /**
   * A session-capable connection (WORKER_DATABASE_URL, else the same pool as `sql`) for what a
   * transaction-mode pooler cannot carry: LISTEN and session advisory locks. Its listen()
   * connections are its only ones unless something reserves from it (the migration lock).
   */
  session: Sql;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** Pool size of `sql` (DB_POOL_SIZE). */
  max?: number;
  /** WORKER_DATABASE_URL: where `session` connects; unset means `session` is `sql`. */
  sessionUrl?: string;
  /** DB_PREPARED_STATEMENTS: false sends every statement unnamed (see prepared.ts). */
  prepare?: boolean;
}

/** A postgres.js pool; `prepare: false` turns named prepared statements off for every query. */
export function createSql(url: string, max = 10, prepare = true): Sql {
  // postgres.js carries its write-after-close fix from install time (connection-guard.ts)
  return postgres(url, {
    max,
    // Off, tagged-template queries are unnamed too: a transaction-mode pooler may run a Bind on
    // another server connection than its Parse. Unnamed statements stay within one exchange
    // (Parse, Describe and Flush, then Bind and Execute, with no Sync between), which it keeps
    // on one server connection.
    prepare,
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

/** The pools of one service: `sql`/`db` on `url`, `session` on opts.sessionUrl (or the same). */
export function createDatabase(url: string, maxOrOpts: number | DatabaseOptions = 10): Database {
  const opts = typeof maxOrOpts === "number" ? { max: maxOrOpts } : maxOrOpts;
  const prepare = opts.prepare ?? true;
  const sql = createSql(url, opts.max ?? 10, prepare);
  // max 2: the migration lock reserves one; listen() opens its own connections besides
  const session = opts.sessionUrl ? createSql(opts.sessionUrl, 2) : sql;
  const db = new Kysely<DB>({
    // preparingSql: named prepared statements (one round trip instead of two; see prepared.ts)
    dialect: new PostgresJSDialect({ postgres: guardReserved(prepare ? preparingSql(sql) : sql) }),
    // maintainNestedObjectKeys: only column names are renamed. Without it the plugin also renames
    // keys inside jsonb values (a payload's "msg_type" would reach a webhook as "msgType").
    plugins: [new CamelCasePlugin({ maintainNestedObjectKeys: true })],
  });
  return {
    sql,
    db,
    session,
    close: async () => {
      // A connection that died mid-statement never "ends" (postgres.js waits for a ReadyForQuery
      // that cannot come): give the pool 5 s, then terminate what is left.
      await Promise.all([sql.end({ timeout: 5 }), session !== sql ? session.end({ timeout: 5 }) : null]);
      await db.destroy();
    },
  };
}
