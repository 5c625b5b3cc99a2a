/**
 * Four baton instances direct against four through PgBouncer, in one run: the drain rate of N
 * queued no-op tasks and the server connections at peak. docs/scaling.md ("PgBouncer") quotes its
 * output.
 *
 *   npx tsx scripts/measure-pgbouncer.ts                      # 20,000 tasks, 4 instances each way
 *   npx tsx scripts/measure-pgbouncer.ts --tasks=5000 --instances=2 --pool=10
 *
 * A private embedded Postgres (.data/measure-pgb, its own port, max_connections 300) and Debian's
 * pgbouncer (test/helpers/pgbouncer.ts) in transaction mode, default_pool_size --pool (20).
 * "direct": DATABASE_URL to Postgres. "pgbouncer": DATABASE_URL through PgBouncer with
 * DB_PREPARED_STATEMENTS=false, WORKER_DATABASE_URL direct (graphile-worker and LISTEN). Each
 * round gets a fresh migrated database, spawns the instances (real processes, as in the tests),
 * inserts the tasks in one statement and times until all are completed; a sampler counts server
 * connections every 100 ms: pg_stat_activity for the database (every connection Postgres holds,
 * direct ones and PgBouncer's) and, through PgBouncer, its SHOW POOLS server count.
 * Wall-clock rates on a shared machine are noisy; the connection counts are not.
 */
import { performance } from "node:perf_hooks";
import { createDatabase, createSql } from "../src/db/client.js";
import { startEmbeddedPostgres } from "../src/db/embedded.js";
import { migrate } from "../src/db/migrate.js";
import { insertTasks } from "../src/db/queries/tasks.js";
import { startPgBouncer } from "../test/helpers/pgbouncer.js";
import { freePort, spawnInstance } from "../test/helpers/process.js";

const args = new Map(
  process.argv
    .slice(2)
    .map((a) => a.replace(/^--/, "").split("="))
    .map(([k, v]) => [k, v ?? "true"] as const),
);
const TASKS = Number(args.get("tasks") ?? 20_000);
const INSTANCES = Number(args.get("instances") ?? 4);
const POOL = Number(args.get("pool") ?? 20);
const ENV = { WORKER_CONCURRENCY: "10", DB_POOL_SIZE: "10", LOG_LEVEL: "warn" };

const pg = await startEmbeddedPostgres({ dir: ".data/measure-pgb", port: await freePort(), database: "postgres" });
const admin = createSql(pg.url, 1);
const withDb = (db: string) => {
  const u = new URL(pg.url);
  u.pathname = `/${db}`;
  return u.toString();
};

async function round(mode: "direct" | "pgbouncer"): Promise<Record<string, unknown>> {
  const name = `baton_measure_${mode}`;
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.unsafe(`create database ${name}`);
  const url = withDb(name);
  const m = createSql(url, 2);
  await migrate(m, url);
  await m.end();
  const bouncer = mode === "pgbouncer" ? await startPgBouncer(url, { poolMode: "transaction", poolSize: POOL }) : null;
  const apiUrl = bouncer ? bouncer.url(url) : url;
  const env = bouncer ? { ...ENV, WORKER_DATABASE_URL: url, DB_PREPARED_STATEMENTS: "false" } : ENV;
  const instances = await Promise.all(Array.from({ length: INSTANCES }, (_, i) => spawnInstance(apiUrl, `measure-${mode}-${i}`, env)));
  const db = createDatabase(url, 2);
  let peakPg = 0;
  let peakBouncer = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const [{ n }] = await admin<{ n: number }[]>`select count(*)::int as n from pg_stat_activity where datname = ${name}`;
      peakPg = Math.max(peakPg, n - 2); // less this script's own two
      if (bouncer) peakBouncer = Math.max(peakBouncer, await bouncer.serverConnections());
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const t0 = performance.now();
  await insertTasks(db.db, Array.from({ length: TASKS }, () => ({ type: "noop" })), { ids: true });
  for (;;) {
    const [{ n }] = await db.sql<{ n: number }[]>`select count(*)::int as n from baton.tasks where status = 'completed'`;
    if (n >= TASKS) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const seconds = (performance.now() - t0) / 1000;
  sampling = false;
  await sampler;
  const codes = await Promise.all(instances.map((i) => i.stop()));
  await db.close();
  await bouncer?.stop();
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  return {
    mode,
    instances: INSTANCES,
    tasks: TASKS,
    seconds: Number(seconds.toFixed(2)),
    tasksPerSecond: Math.round(TASKS / seconds),
    peakPostgresConnections: peakPg,
    peakPgBouncerServerConnections: bouncer ? peakBouncer : null,
    exitCodes: codes,
  };
}

try {
  const results = [await round("direct"), await round("pgbouncer")];
  console.table(results);
  console.log(JSON.stringify(results));
} finally {
  await admin.end();
  await pg.stop();
}
