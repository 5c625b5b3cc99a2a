/**
 * Keeps a database outage from crashing the process through a postgres.js 3.4.x defect.
 *
 * postgres.js batches small writes behind setImmediate(nextWrite). When a connection's socket has
 * closed, `socket` is null, and a write on that connection throws from the immediate callback,
 * an uncaught TypeError that no caller can catch ("Cannot read properties of null (reading
 * 'write')", porsager/postgres#1154, #1208, open in 3.4.9). kysely-postgres-js runs every query
 * on a *reserved* connection, and a reserved connection is written to directly, closed or not:
 *   - after a statement fails because the server went away, kysely sends ROLLBACK on the same
 *     connection (crash), and
 *   - kysely then releases it, which puts the closed connection back among the open ones, where
 *     the next query of anyone writes to it (crash).
 * Both happened in test/db-outage.test.ts on every Postgres restart.
 *
 * guardReserved() wraps sql.reserve() (with an acquire timeout, below): once a statement on a reserved connection fails with a
 * connection error, further statements on it fail at once with the same kind of error (they would
 * fail anyway) and release() leaves the connection to the pool, which has already moved it to its
 * closed queue and reconnects it on demand.
 *
 * A connection can also close while reserved and idle (between two statements of a transaction).
 * Nothing outside postgres.js can see that, so guardPostgresJsCrash() installs a last-resort
 * handler for exactly this TypeError from postgres.js's nextWrite: it is logged and the process
 * carries on (the pool reconnects; the statement that triggered it fails with CONNECTION_CLOSED
 * or a connect timeout). Any other uncaught exception still ends the process as before.
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
        return (...args: unknown[]) => (dead ? Promise.reject(closedError()) : watch(value.apply(target, args)));
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/**
 * How long a statement waits for a connection. While the database is away postgres.js keeps
 * queued statements waiting for its next reconnect attempt, with a backoff that grows to 20 s per
 * attempt, so an API write would hang instead of answering 503. After this long the statement
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

let installed = false;

/** True for the known postgres.js write-after-close TypeError (see the file comment). */
export function isPostgresJsWriteAfterClose(err: unknown): boolean {
  return (
    err instanceof TypeError &&
    /reading 'write'|evaluating 'socket\.write'/.test(err.message) &&
    /nextWrite[^\n]*postgres[\\/]+(cjs[\\/]+)?src[\\/]+connection\.js/.test(err.stack ?? "")
  );
}

/** Installs (once per process) the last-resort handler for postgres.js's write-after-close. */
export function guardPostgresJsCrash(log: (msg: string) => void = (m) => process.stderr.write(`${m}\n`)): void {
  if (installed) return;
  installed = true;
  process.on("uncaughtException", (err, origin) => {
    if (isPostgresJsWriteAfterClose(err)) {
      log("postgres.js wrote to a closed connection (porsager/postgres#1208); ignored, the pool reconnects");
      return;
    }
    // Anything else is someone else's: with other handlers (a test runner) leave it to them,
    // alone do what Node does without a handler (print and exit 1).
    if (process.listenerCount("uncaughtException") > 1) return;
    process.stderr.write(`${origin}: ${(err as Error)?.stack ?? err}\n`);
    process.exit(1);
  });
}
