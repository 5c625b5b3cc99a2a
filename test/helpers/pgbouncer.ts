/**
 * A real PgBouncer (Debian's `pgbouncer` package) in front of a Postgres, for tests and
 * scripts/measure-pgbouncer.ts: its own ini and auth file in a temp dir, a free 127.0.0.1 port,
 * no unix socket. PgBouncer refuses to run as root, so as root it runs with `-u postgres` (the
 * user src/db/embedded.ts runs Postgres as).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import path from "node:path";
import postgres from "postgres";
import { freePort } from "./process.js";
import { waitFor } from "./service.js";

/** The pgbouncer executable: PGBOUNCER_BIN, Debian's path, or null when it is not installed. */
export function pgbouncerBin(): string | null {
  for (const p of [process.env.PGBOUNCER_BIN, "/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"]) if (p && existsSync(p)) return p;
  return null;
}

export interface PgBouncer {
  port: number;
  /** `serverUrl` with host and port replaced by PgBouncer's (same user, password and database). */
  url(serverUrl: string): string;
  /** Server connections PgBouncer holds right now, over all its pools (SHOW POOLS). */
  serverConnections(): Promise<number>;
  /** Everything it printed, for a failing test's message. */
  output(): string;
  stop(): Promise<void>;
}

export interface PgBouncerOptions {
  poolMode?: "transaction" | "session" | "statement";
  /** default_pool_size: server connections per (database, user). */
  poolSize?: number;
}

/** Starts PgBouncer in front of the server `serverUrl` names; resolves once it accepts logins. */
export async function startPgBouncer(serverUrl: string, opts: PgBouncerOptions = {}): Promise<PgBouncer> {
  const bin = pgbouncerBin();
  if (!bin) throw new Error("pgbouncer is not installed (apt-get install pgbouncer, or set PGBOUNCER_BIN)");
  const server = new URL(serverUrl);
  const user = decodeURIComponent(server.username || "postgres");
  const password = decodeURIComponent(server.password);
  const port = await freePort();
  const dir = await mkdtemp(path.join(tmpdir(), "baton-pgbouncer-"));
  await chmod(dir, 0o755); // readable by the postgres user it switches to as root
  const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
  // trust on 127.0.0.1: clients are not asked for a password; the auth file's password is what
  // PgBouncer logs in to the server with (SCRAM or md5 against the embedded Postgres, nothing
  // against a trust one).
  await writeFile(path.join(dir, "userlist.txt"), `${quote(user)} ${quote(password)}\n`, { mode: 0o644 });
  const ini = [
    "[databases]",
    // any database name a client asks for, on the one server
    `* = host=${server.hostname} port=${server.port || 5432}`,
    "[pgbouncer]",
    "listen_addr = 127.0.0.1",
    `listen_port = ${port}`,
    "unix_socket_dir =",
    "auth_type = trust",
    `auth_file = ${path.join(dir, "userlist.txt")}`,
    `pool_mode = ${opts.poolMode ?? "transaction"}`,
    `default_pool_size = ${opts.poolSize ?? 20}`,
    "max_client_conn = 2000",
    `admin_users = ${user}`,
    `stats_users = ${user}`,
    // postgres.js and node-postgres send these at startup; PgBouncer would refuse the login
    "ignore_startup_parameters = extra_float_digits,options",
    "server_reset_query =",
    "log_connections = 0",
    "log_disconnections = 0",
    "",
  ].join("\n");
  const iniPath = path.join(dir, "pgbouncer.ini");
  await writeFile(iniPath, ini, { mode: 0o644 });
  const args = userInfo().uid === 0 ? ["-u", "postgres", iniPath] : [iniPath];
  const proc: ChildProcess = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const collect = (d: Buffer) => {
    out += d;
  };
  proc.stdout?.on("data", collect);
  proc.stderr?.on("data", collect);
  const exited = new Promise<void>((r) => proc.once("exit", () => r()));
  let dead = false;
  void exited.then(() => {
    dead = true;
  });

  const url = (s: string) => {
    const u = new URL(s);
    u.hostname = "127.0.0.1";
    u.port = String(port);
    return u.toString();
  };
  const adminUrl = `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}/pgbouncer`;
  const stop = async () => {
    if (!dead) proc.kill("SIGTERM");
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      async () => {
        if (dead) throw new Error(`pgbouncer exited: ${out}`);
        const sql = postgres(url(serverUrl), { max: 1, prepare: false, connect_timeout: 2, onnotice: () => {} });
        try {
          return (await sql`select 1 as ok`)[0].ok === 1;
        } finally {
          await sql.end({ timeout: 1 });
        }
      },
      { timeoutMs: 20_000, intervalMs: 100, what: "pgbouncer to accept logins" },
    );
  } catch (err) {
    await stop();
    throw new Error(`pgbouncer did not start: ${(err as Error).message}\n${out}`);
  }
  return {
    port,
    url,
    output: () => out,
    stop,
    serverConnections: async () => {
      // the admin console speaks only the simple query protocol
      const admin = postgres(adminUrl, { max: 1, prepare: false, fetch_types: false, onnotice: () => {} });
      try {
        const rows = await admin.unsafe("SHOW POOLS", [], { simple: true } as never);
        return rows.reduce((n, r) => n + ["sv_active", "sv_idle", "sv_used", "sv_tested", "sv_login"].reduce((m, k) => m + Number(r[k] ?? 0), 0), 0);
      } finally {
        await admin.end({ timeout: 1 });
      }
    },
  };
}
