/**
 * Keeps a database outage from hanging or crashing baton through postgres.js 3.4.x defects.
 *
 * postgres.js batches small writes behind setImmediate(nextWrite). When a connection's socket has
 * closed, `socket` is null, and a write on that connection throws from the immediate callback,
 * an uncaught TypeError that no caller can catch ("Cannot read properties of null (reading
 * 'write')", porsager/postgres#1154, #1208, open in 3.4.9). The fix of the upstream pull requests
 * (porsager/postgres#1168, #1209) is applied at install time: patches/postgres+3.4.9.patch, by
 * patch-package in `postinstall` with --error-on-fail, so an install whose postgres.js no longer
 * matches the patch fails instead of running without it. test/db-outage.test.ts crashes without
 * it (there is no process-wide handler that would hide the TypeError).
 *
 * The same patch handles the promise of postgres.js's array-type fetch (porsager/postgres#1192,
 * #1223, open in 3.4.9). Every new connection first fetches the array types; for a connection
 * opened for a reserve(), which is every kysely query, a close during that fetch rejected a
 * promise nobody held, an unhandled rejection ("write CONNECTION_CLOSED") that ended the process
 * when pg_terminate_backend landed on a connection still starting up. The failure is the
 * connection's, which postgres.js handles on its own (it reconnects and fetches again); the
 * reserve() that had asked for the connection waits for the next one, bounded by the acquire
 * timeout below. `fetch_types: false` would avoid the fetch but leaves reserve() waiting for a
 * connection that nothing opens (porsager/postgres#751). test/db-type-fetch.test.ts.
 *
 * This file is the part that belongs at baton's boundary. kysely-postgres-js runs every query on a
 * *reserved* connection, and a reserved connection is written to directly, closed or not:
 *   - after a statement fails because the server went away, kysely sends ROLLBACK on the same
 *     connection, and
 *   - kysely then releases it, which puts the closed connection back among the open ones, where
 *     the next query of anyone writes to it.
 * guardReserved() wraps sql.reserve() (with an acquire timeout, below): once a statement on a
 * reserved connection fails with a connection error, further statements on it fail at once with
 * the same kind of error (they would fail anyway) and release() leaves the connection to the
 * pool, which has already moved it to its closed queue and reconnects it on demand.
 */
import type postgres from "postgres";
import { isUnavailable } from "../domain/errors.js";

type Sql = postgres.Sql;

/** Connection-level failures: the connection is gone, whatever the statement was. */
const CONNECTION_CODES = new Set(["CONNECTION_CLOSED", "CONNECTION_DESTROYED", "CONNECTION_ENDED", "ECONNRESET", "EPIPE", "57P01", "57P02", "57P03"]);

function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (typeof code === "string" && CONNECTION_CODES.has(code)) || isUnavailable(err);
}

function closedError(): Error {
  return Object.assign(new Error("connection closed (the database went away during this reservation)"), {
    code: "CONNECTION_CLOSED",
  });
}

/** A reserved connection that refuses to write once it has seen its connection fail. */
function guardConnection<T extends object>(conn: T): T {
  let dead = false;
  const watch = (query: unknown) =>
    new Proxy(query as object, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop === "then" && typeof value === "function") {
          return (onFulfilled?: (v: unknown) => unknown, onRejected?: (e: unknown) => unknown) =>
            value.call(target, onFulfilled, (err: unknown) => {
              if (isConnectionError(err)) dead = true;
              if (onRejected) return onRejected(err);
              throw err;
            });
        }
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  return new Proxy(conn, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop === "release" && typeof value === "function") {
        return () => {
          if (!dead) value.call(target);
        };
      }
      if (prop === "unsafe" && typeof value === "function") {
        return (...args: unknown[]) => {
          if (!dead) return watch(value.apply(target, args));
          // The server rolled the transaction back when the connection died. Saying so (rather
          // than failing) matters: kysely answers a failed ROLLBACK by calling a discard hook
          // that kysely-postgres-js does not have, and the caller would get that TypeError
          // instead of the connection error.
          if (/^\s*rollback\s*;?\s*$/i.test(String(args[0]))) return Promise.resolve(Object.assign([], { command: "ROLLBACK", count: 0 }));
          return Promise.reject(closedError());
        };
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/**
 * How long a statement waits for a connection. Besides outages this also bounds a postgres.js
 * race seen when a connection closes while another one is connecting for a reserve(): the pool's
 * close handler hands the same waiting reserve to the closing connection too, and neither
 * connection then resolves it. Without a deadline that reserve would wait forever.
 *
 * While the database is away postgres.js keeps queued statements waiting for its next reconnect
 * attempt (its default backoff grows to 20 s per attempt), so an API write would hang instead of
 * answering 503. After this long the statement
 * fails with CONNECT_TIMEOUT (→ 503 with Retry-After); it was never sent, so it cannot commit
 * later behind the caller's back (the late connection is handed straight back to the pool).
 */
export const ACQUIRE_TIMEOUT_MS = 5000;

function acquireTimeout(ms: number): Error {
  return Object.assign(new Error(`no database connection within ${ms} ms`), { code: "CONNECT_TIMEOUT" });
}

/** The pool to hand to kysely: the same pool, with guarded reserved connections. */
export function guardReserved(sql: Sql, acquireTimeoutMs = ACQUIRE_TIMEOUT_MS): Sql {
  // Once an acquire has failed for want of the database, the next ones wait only briefly (each
  // still asks the pool, so the first connection that succeeds ends the outage for everyone).
  let down = false;
  const reserve = async (target: Sql) => {
    const pending = target.reserve();
    const ms = down ? Math.min(250, acquireTimeoutMs) : acquireTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(acquireTimeout(ms)), ms);
    });
    try {
      const conn = await Promise.race([pending, timeout]);
      down = false;
      return guardConnection(conn);
    } catch (err) {
      if (isConnectionError(err)) down = true;
      pending.then(
        (late) => late.release(),
        () => {},
      );
      throw err;
    } finally {
      clearTimeout(timer);
    }
  };
  return new Proxy(sql, {
    get(target, prop, receiver) {
      if (prop === "reserve") return () => reserve(target);
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
