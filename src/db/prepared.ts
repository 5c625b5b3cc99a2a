/**
 * Prepared statements for kysely. kysely-postgres-js runs every query through postgres.js
 * `unsafe()`, which defaults to `prepare: false`. For a query with parameters postgres.js then
 * sends Parse + Describe, waits for the parameter types, and only then Bind + Execute: two round
 * trips, and Postgres parses and plans the statement again every time (the worker's start and
 * finish statements spent 1-8 ms planning). With named prepared statements the second and later
 * executions on a connection are one round trip (Bind + Execute) and reuse the parsed statement;
 * Postgres may switch to a generic plan after five executions.
 *
 * postgres.js keeps one prepared statement per distinct SQL text per connection and recycles
 * connections after 30-60 min (max_lifetime), which bounds the cache. After a schema change a
 * cached statement fails once with "cached plan must not change result type"; postgres.js
 * re-prepares and retries it by itself.
 */
import type postgres from "postgres";

type Sql = postgres.Sql;

/** Wraps a connection so that unsafe() prepares unless the caller says otherwise. */
function preparingConnection<T extends object>(conn: T): T {
  return new Proxy(conn, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop === "unsafe" && typeof value === "function") {
        return (query: string, args?: unknown[], options?: Record<string, unknown>) =>
          value.call(target, query, args ?? [], { prepare: true, ...options });
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/**
 * The postgres.js instance to hand to kysely's PostgresJSDialect: the same pool, but the
 * reserved connections kysely runs its queries on prepare them.
 */
export function preparingSql(sql: Sql): Sql {
  return new Proxy(sql, {
    get(target, prop, receiver) {
      if (prop === "reserve") {
        return async () => preparingConnection(await target.reserve());
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
