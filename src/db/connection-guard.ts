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
 * Nothing outside postgres.js can see that, so patchedPostgres() loads postgres.js's CommonJS
 * build with the fix of the upstream pull requests applied to its source as it is compiled
 * (porsager/postgres#1168, #1209): nextWrite() on a closed connection fails the statement with
 * CONNECTION_CLOSED instead of throwing, and closing a connection drops its stale write buffer
 * and timer (otherwise the reconnected socket's first bytes are the dead one's leftovers, and its
 * small writes are never flushed) and its last statement's stored error (otherwise the first
 * statement on the reconnected socket fails with it). The patch is verified: if a future postgres.js no longer
 * contains the patched lines, it is skipped and logged. guardPostgresJsCrash() stays as the last
 * resort for exactly that TypeError. Any other uncaught exception still ends the process.
 */
import Module, { createRequire } from "node:module";
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

let installed = false;
let suppressed = 0;

/** How often the last-resort handler below has swallowed postgres.js's write-after-close. */
export function suppressedWriteAfterClose(): number {
  return suppressed;
}

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
      suppressed++;
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

type PostgresFactory = typeof postgres;

const CONNECTION_SOURCE = /postgres[\\/]cjs[\\/]src[\\/]connection\.js$/;

/** The source edits, each of which must match exactly as often as stated. */
const EDITS: { find: string; replace: string; count: number }[] = [
  {
    // a write whose socket has gone fails the statement (settles it) instead of throwing
    find: "  function nextWrite(fn) {\n    const x = socket.write(chunk, fn)\n",
    replace:
      "  function nextWrite(fn) {\n" +
      "    if (!socket) { /* baton: porsager/postgres#1208 */\n" +
      "      nextWriteTimer !== null && clearImmediate(nextWriteTimer)\n" +
      "      chunk = nextWriteTimer = null\n" +
      "      error(Errors.connection('CONNECTION_CLOSED', options))\n" +
      "      return true\n" +
      "    }\n" +
      "    const x = socket.write(chunk, fn)\n",
    count: 1,
  },
  {
    // terminate() and closed(): drop the dead socket's pending writes with their timer
    find: "    clearImmediate(nextWriteTimer)\n",
    replace: "    clearImmediate(nextWriteTimer), nextWriteTimer = null, chunk = null /* baton */\n",
    count: 2,
  },
  {
    // closed(): the dead connection's last statement has been failed above; forget it and its
    // stored ErrorResponse, or the first ReadyForQuery of the reconnected socket fails the next,
    // innocent statement with the old error ("terminating connection due to administrator command")
    find: "    !hadError && (query || sent.length) && error(Errors.connection('CONNECTION_CLOSED', options, socket))\n",
    replace:
      "    !hadError && (query || sent.length) && error(Errors.connection('CONNECTION_CLOSED', options, socket))\n" +
      "    query = errorResponse = null /* baton */\n",
    count: 1,
  },
];

export function patchConnectionSource(source: string): { source: string; ok: boolean } {
  let out = source;
  for (const e of EDITS) {
    if (out.split(e.find).length - 1 !== e.count) return { source, ok: false };
    out = out.split(e.find).join(e.replace);
  }
  return { source: out, ok: true };
}

let loaded: { factory: PostgresFactory; patched: boolean } | null = null;

/**
 * postgres.js, loaded once with the write-after-close fix applied (see the file comment).
 * `patched` says whether the fix went in (false: this postgres.js version no longer matches).
 */
export function patchedPostgres(): { factory: PostgresFactory; patched: boolean } {
  if (loaded) return loaded;
  const proto = (Module as unknown as { prototype: { _compile(content: string, filename: string): unknown } }).prototype;
  const compile = proto._compile;
  let patched = false;
  proto._compile = function (this: unknown, content: string, filename: string) {
    if (CONNECTION_SOURCE.test(filename)) {
      const r = patchConnectionSource(content);
      patched = r.ok;
      return compile.call(this, r.source, filename);
    }
    return compile.call(this, content, filename);
  };
  try {
    const factory = createRequire(import.meta.url)("postgres") as PostgresFactory;
    loaded = { factory, patched };
  } finally {
    proto._compile = compile;
  }
  if (!patched) process.stderr.write("baton: postgres.js write-after-close fix not applied (source did not match); relying on the guards\n");
  return loaded;
}
