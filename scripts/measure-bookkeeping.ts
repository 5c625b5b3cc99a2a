/**
 * What baton's bookkeeping costs Postgres per task, in figures that do not depend on how busy the
 * machine is: WAL bytes and records, statements, transactions, buffers, task-row versions and how
 * many of them were HOT, log rows; and, for one task created on an idle instance, the statements
 * between the API's commit and the handler's start. docs/benchmarks.md ("Bookkeeping per task")
 * quotes its output.
 *
 *   npx tsx scripts/measure-bookkeeping.ts                 # 5,000 no-op tasks, 30 single probes
 *   npx tsx scripts/measure-bookkeeping.ts --titled                        # tasks with a title
 *   npx tsx scripts/measure-bookkeeping.ts --sql="drop index baton.tasks_type_id_idx"   # try a change
 *   npx tsx scripts/measure-bookkeeping.ts --tasks=20000 --probes=50 --port=54351
 *
 * It starts a private embedded Postgres (.data/measure-pg, its own port) with pg_stat_statements
 * preloaded, creates a fresh database, migrates it and runs one baton service in-process (every
 * plug-in, as main.ts wires it; heartbeat and recovery every 60 s so their statements stay out of
 * the counts). The database is dropped at the end; the server is stopped.
 *
 * Stage 1 (drain): N no-op tasks are inserted in one statement with run_at 1.5 s ahead, so the
 * enqueue's WAL is read before any of them can be claimed; then the worker drains them. Statement
 * counts come from pg_stat_statements (top-level statements, so a function's or a trigger's inner
 * statements count with the statement that ran them), table and WAL counters from the cumulative
 * statistics after the service has stopped (backends flush them when they exit).
 * Stage 2 (latency): one task at a time through POST /api/tasks, each started only when the one
 * before it finished; statements per task and the time from the request to the handler's start.
 * Times are wall-clock on a shared machine: noisy; the counts are not.
 */
import { performance } from "node:perf_hooks";
import { z } from "zod";
import { loadConfig } from "../src/config.js";
import { createSql, type Sql } from "../src/db/client.js";
import { startEmbeddedPostgres } from "../src/db/embedded.js";
import { migrate } from "../src/db/migrate.js";
import { insertTasks } from "../src/db/queries/tasks.js";
import { createLogger } from "../src/log.js";
import { plugins } from "../src/plugins.js";
import { startService } from "../src/service.js";
import { registerTaskType } from "../src/worker/registry.js";

const args = new Map(
  process.argv
    .slice(2)
    .map((a) => /^--([^=]+)=(.*)$/.exec(a))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1], m[2]]),
);
const N = Number(args.get("tasks") ?? 5000);
const PROBES = Number(args.get("probes") ?? 30);
const PORT = Number(args.get("port") ?? 54351);
const DIR = args.get("dir") ?? ".data/measure-pg";
const DB = `measure_${process.pid}`;
/** --sql="...": run after migrating, before measuring (to try an index or a setting without a migration). */
const EXTRA_SQL = args.get("sql");
/** --titled: tasks carry a title (as most real ones do), so the title's trigram index is written too. */
const TITLED = args.has("titled") || process.argv.includes("--titled");

/** Called with the time the probe handler starts (one probe is in flight at a time). */
let onProbeStart: ((t: number) => void) | null = null;
registerTaskType({
  name: "measure.probe",
  description: "Measurement only: records when its handler starts",
  params: z.object({}).passthrough(),
  handler: async () => {
    onProbeStart?.(performance.now());
  },
});

/** The server, restarted once with pg_stat_statements preloaded if it is not yet. */
async function server(): Promise<{ url: string; stop(): Promise<void> }> {
  let pg = await startEmbeddedPostgres({ dir: DIR, port: PORT, database: "postgres" });
  const admin = createSql(pg.url, 1);
  const [{ shared_preload_libraries: preload }] = await admin`show shared_preload_libraries`;
  if (!String(preload).includes("pg_stat_statements")) {
    await admin`alter system set shared_preload_libraries = 'pg_stat_statements'`;
    await admin`alter system set pg_stat_statements.track = 'top'`;
    await admin.end();
    await pg.stop();
    pg = await startEmbeddedPostgres({ dir: DIR, port: PORT, database: "postgres" });
  } else {
    await admin.end();
  }
  return pg;
}

interface Counters {
  lsn: string;
  walRecords: number;
  walFpi: number;
  commits: number;
  tupUpd: number;
  tupHotUpd: number;
  tupIns: number;
}

async function counters(sql: Sql): Promise<Counters> {
  const [r] = await sql<Counters[]>`
    select pg_current_wal_lsn()::text as lsn,
      (select wal_records from pg_stat_wal)::float8 as "walRecords",
      (select wal_fpi from pg_stat_wal)::float8 as "walFpi",
      (select xact_commit from pg_stat_database where datname = current_database())::float8 as commits,
      (select n_tup_upd from pg_stat_user_tables where relid = 'baton.tasks'::regclass)::float8 as "tupUpd",
      (select n_tup_hot_upd from pg_stat_user_tables where relid = 'baton.tasks'::regclass)::float8 as "tupHotUpd",
      (select n_tup_ins from pg_stat_user_tables where relid = 'baton.task_logs'::regclass)::float8 as "tupIns"`;
  return r;
}

async function walBytes(sql: Sql, from: string, to: string): Promise<number> {
  const [r] = await sql<{ n: number }[]>`select pg_wal_lsn_diff(${to}::pg_lsn, ${from}::pg_lsn)::float8 as n`;
  return r.n;
}

interface Stmt {
  query: string;
  calls: number;
  rows: number;
  walBytes: number;
  walRecords: number;
  blks: number;
  dirtied: number;
  ms: number;
}

/** Top-level statements of this database since the last reset, most WAL first. */
async function statements(sql: Sql): Promise<Stmt[]> {
  return sql<Stmt[]>`
    select regexp_replace(query, '[[:space:]]+', ' ', 'g') as query, calls::float8 as calls, rows::float8 as rows,
      wal_bytes::float8 as "walBytes", wal_records::float8 as "walRecords",
      (shared_blks_hit + shared_blks_read)::float8 as blks, shared_blks_dirtied::float8 as dirtied,
      total_exec_time as ms
    from pg_stat_statements s join pg_database d on d.oid = s.dbid
    where d.datname = current_database()
      and s.query !~* 'pg_stat_statements|pg_current_wal_lsn|pg_stat_wal|as open|select status from baton.tasks where id'
    order by wal_bytes desc, calls desc`;
}

/** A readable label for a statement: the first table or function it names. */
function label(q: string): string {
  const fn = /(baton\.\w+|graphile_worker\.\w+)\s*\(/.exec(q)?.[1];
  const verb = /^\s*(with|select|insert|update|delete|begin|commit|rollback|listen|set|show)/i.exec(q)?.[1]?.toLowerCase() ?? "?";
  const table = /(?:from|into|update)\s+"?(baton|graphile_worker)"?\."?(\w+)/i.exec(q);
  return [verb, table ? `${table[1]}.${table[2]}` : "", fn ? `${fn}()` : ""].filter(Boolean).join(" ");
}

function printStatements(rows: Stmt[], per: number, limit = 16): void {
  console.log("| statement | calls/task | rows/task | WAL B/task | WAL rec/task | buffers/task | dirtied/task | ms/call (noisy) | text |");
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|---|");
  for (const s of rows.slice(0, limit)) {
    const f = (x: number, d = 2) => (x / per).toFixed(d);
    console.log(
      `| ${label(s.query)} | ${f(s.calls, 3)} | ${f(s.rows)} | ${f(s.walBytes, 0)} | ${f(s.walRecords, 1)} | ${f(s.blks, 1)} | ${f(s.dirtied, 2)} | ${(s.ms / s.calls).toFixed(3)} | ${s.query.slice(0, 70).replace(/\|/g, "\\|")}… |`,
    );
  }
  const total = (k: keyof Stmt) => rows.reduce((a, s) => a + (s[k] as number), 0);
  console.log(
    `\nall statements: ${(total("calls") / per).toFixed(2)} per task, ${(total("walBytes") / per).toFixed(0)} WAL B/task, ${(total("blks") / per).toFixed(1)} buffers/task`,
  );
}

async function tasksIndexes(sql: Sql): Promise<void> {
  const rows = await sql<{ name: string; def: string; size: string; comment: string | null }[]>`
    select c.relname as name, pg_get_indexdef(c.oid) as def, pg_size_pretty(pg_relation_size(c.oid)) as size,
      obj_description(c.oid, 'pg_class') as comment
    from pg_index i join pg_class c on c.oid = i.indexrelid
    where i.indrelid = 'baton.tasks'::regclass order by c.relname`;
  const [{ reloptions }] = await sql<{ reloptions: string[] | null }[]>`select reloptions from pg_class where oid = 'baton.tasks'::regclass`;
  console.log(`\nbaton.tasks: ${rows.length} indexes, reloptions ${JSON.stringify(reloptions ?? [])}`);
  for (const r of rows) console.log(`  ${r.name} (${r.size}): ${r.def.replace(/^CREATE (UNIQUE )?INDEX \w+ ON baton\.tasks USING /, "$1")}`);
}

async function main(): Promise<void> {
  const pg = await server();
  const admin = createSql(pg.url, 1);
  await admin.unsafe(`drop database if exists ${DB} with (force)`);
  await admin.unsafe(`create database ${DB}`);
  const url = pg.url.replace(/\/[^/]*$/, `/${DB}`);
  const sql = createSql(url, 2);
  try {
    await migrate(sql, url);
    await sql`create extension if not exists pg_stat_statements`;
    if (EXTRA_SQL) {
      await sql.unsafe(EXTRA_SQL);
      console.log(`extra SQL: ${EXTRA_SQL}`);
    }
    const config = loadConfig({
      DATABASE_URL: url,
      PORT: "0",
      HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
      HEARTBEAT_INTERVAL_MS: "60000",
      INSTANCE_DEAD_AFTER_MS: "180000",
      ...(args.has("local-queue") ? { WORKER_LOCAL_QUEUE_SIZE: args.get("local-queue") as string } : {}),
    });
    console.log(
      `# baton bookkeeping per task (${new Date().toISOString()}, git ${process.env.GIT_REV ?? "?"})\n` +
        `WORKER_CONCURRENCY=${config.WORKER_CONCURRENCY}, WORKER_LOCAL_QUEUE_SIZE=${config.WORKER_LOCAL_QUEUE_SIZE}, ${N} no-op tasks${TITLED ? " with titles" : ""}, ${PROBES} probes`,
    );
    await tasksIndexes(sql);

    // ---- stage 1: drain N no-op tasks
    const drain = async (n: number, measure: boolean) => {
      const svc = await startService(config, { plugins, log: createLogger("warn", config.INSTANCE_ID) });
      try {
        await sql`checkpoint`;
        const c0 = await counters(sql);
        await sql`select pg_stat_statements_reset()`;
        const runAt = new Date(Date.now() + 1500);
        await insertTasks(
          svc.database.db,
          Array.from({ length: n }, (_, i) => ({ type: "noop", runAt, title: TITLED ? `Process customer feedback ${i}` : undefined })),
          { ids: true },
        );
        const c1 = await counters(sql);
        const enqueue = await statements(sql);
        await sql`select pg_stat_statements_reset()`;
        for (;;) {
          const [r] = await sql<{ open: number }[]>`
            select (select count(*) from baton.tasks where status in ('pending', 'processing', 'retrying'))::int
                 + (select count(*) from graphile_worker._private_jobs)::int as open`;
          if (r.open === 0) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        const run = await statements(sql);
        await svc.stop();
        await new Promise((r) => setTimeout(r, 700)); // let exiting backends flush their statistics
        const c2 = await counters(sql);
        if (!measure) return;
        const enqWal = await walBytes(sql, c0.lsn, c1.lsn);
        const runWal = await walBytes(sql, c1.lsn, c2.lsn);
        const [logs] = await sql<{ started: number; outcome: number }[]>`
          select count(*) filter (where event = 'started')::float8 as started,
                 count(*) filter (where event <> 'started')::float8 as outcome from baton.task_logs`;
        const per = (x: number) => (x / n).toFixed(2);
        console.log(`\n## drain of ${n} no-op tasks\n`);
        console.log(`enqueue (one insert statement): ${(enqWal / n).toFixed(0)} WAL bytes/task`);
        console.log(
          `run (claim, start, handler, finish, job completion): ${(runWal / n).toFixed(0)} WAL bytes/task, ` +
            `${per(c2.walRecords - c1.walRecords)} WAL records/task (of which full-page images ${per(c2.walFpi - c1.walFpi)}), ` +
            `${per(c2.commits - c1.commits)} commits/task`,
        );
        console.log(
          `task-row versions written by updates: ${per(c2.tupUpd - c0.tupUpd)}/task, HOT: ${per(c2.tupHotUpd - c0.tupHotUpd)}/task; ` +
            `task_logs rows: ${per(c2.tupIns - c0.tupIns)}/task (started ${per(logs.started)}, other ${per(logs.outcome)})\n`,
        );
        console.log("enqueue statements:\n");
        printStatements(enqueue, n, 6);
        console.log("\nrun statements:\n");
        printStatements(run, n);
      } finally {
        await svc.stop();
      }
    };
    await drain(Math.min(500, N), false); // warm-up: plan caches, first pages
    await sql`truncate baton.tasks cascade`;
    await drain(N, true);

    // ---- stage 2: one task at a time on an idle instance
    const svc = await startService(config, { plugins, log: createLogger("warn", config.INSTANCE_ID) });
    try {
      const lat: number[] = [];
      const responses: number[] = [];
      // The handler may start before the response arrives: listen first, then create.
      const probe = async () => {
        const start = new Promise<number>((r) => {
          onProbeStart = r;
        });
        const t0 = performance.now();
        const res = await fetch(`${svc.url}/api/tasks`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ type: "measure.probe" }),
        });
        const tResponse = performance.now();
        const { id } = (await res.json()) as { id: number };
        const t = await start;
        responses.push(tResponse - t0);
        for (;;) {
          const [r] = await sql<{ status: string }[]>`select status from baton.tasks where id = ${id}`;
          if (r.status === "completed") break;
          await new Promise((r) => setTimeout(r, 5));
        }
        return t - t0;
      };
      for (let i = 0; i < 5; i++) await probe(); // warm-up
      responses.length = 0;
      await sql`select pg_stat_statements_reset()`;
      for (let i = 0; i < PROBES; i++) lat.push(await probe());
      const rows = await statements(sql);
      lat.sort((a, b) => a - b);
      responses.sort((a, b) => a - b);
      console.log(`\n## one task at a time on an idle instance (${PROBES} tasks through POST /api/tasks)\n`);
      console.log(
        `request → handler start: median ${lat[Math.floor(lat.length / 2)].toFixed(1)} ms, min ${lat[0].toFixed(1)} ms, max ${lat[lat.length - 1].toFixed(1)} ms; ` +
          `request → response (the API's commit is before it): median ${responses[Math.floor(responses.length / 2)].toFixed(1)} ms (noisy, machine shared)\n`,
      );
      rows.sort((a, b) => b.calls - a.calls);
      printStatements(rows, PROBES, 30);
    } finally {
      await svc.stop();
    }
  } finally {
    await sql.end();
    await admin.unsafe(`drop database if exists ${DB} with (force)`);
    await admin.end();
    await pg.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
