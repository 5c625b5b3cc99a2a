/**
 * (g) Idle: `idleInstances` instances with nothing to do, after `idleSettle` seconds to finish
 * starting, for `idleSeconds`. Gives the CPU of the instances and of Postgres per second, the
 * WAL they cause, and the statements that reach Postgres: pg_stat_statements calls in the
 * system's database when the server has it loaded, otherwise pg_stat_database's transactions
 * (each statement outside an explicit transaction is one) and tuples read and written. The
 * pg_stat_database counters reach the view up to a few seconds late (backends flush their
 * counts at most once a second, idle ones after 10 s); over an idle steady state the lag moves
 * the window, not the rate.
 */
import type { Bench } from "./context.js";
import { startMeter } from "./cpu.js";
import { type Child, stopAll } from "./proc.js";
import { noteConfig, noteMemory } from "./results.js";
import { fmt, sleep } from "./stats.js";
import type { System } from "./systems.js";

interface DbStats {
  calls: number | null;
  xact: number;
  tupRead: number;
  tupWritten: number;
}

async function dbStats(sys: System, statements: boolean): Promise<DbStats> {
  const [d] = await sys.admin<{ xact: number; read: number; written: number }[]>`
    select (xact_commit + xact_rollback)::float8 as xact, (tup_returned + tup_fetched)::float8 as read,
           (tup_inserted + tup_updated + tup_deleted)::float8 as written
    from pg_stat_database where datname = current_database()`;
  let calls: number | null = null;
  if (statements) {
    const [s] = await sys.admin<{ calls: number }[]>`
      select coalesce(sum(calls), 0)::float8 as calls from pg_stat_statements
      where dbid = (select oid from pg_database where datname = current_database())`;
    calls = s.calls;
  }
  return { calls, xact: d.xact, tupRead: d.read, tupWritten: d.written };
}

export async function idleStage({ o, r, systems, configs, logDir, say, server, save }: Bench) {
  const ready = new Set<string>();
  for (const cfg of configs) {
    const sys = systems[cfg.system];
    let statements = server.statStatements;
    if (statements && !ready.has(sys.name)) {
      // the view needs the extension in the database that reads it
      statements = await sys.admin`create extension if not exists pg_stat_statements`.then(() => true, () => false);
      if (statements) ready.add(sys.name);
    }
    say(`  ${cfg.label}: ${o.idleInstances} idle instance(s), ${o.idleSettle} s to settle, then ${o.idleSeconds} s measured`);
    await sys.reset();
    let children: Child[] = [];
    try {
      children = await sys.startWorkers(cfg, o.idleInstances, logDir);
      noteConfig(r, cfg, children);
      await sleep(o.idleSettle * 1000);
      const s0 = await dbStats(sys, statements);
      const meter = await startMeter(server, children.map((c) => c.proc.pid ?? 0));
      await sleep(o.idleSeconds * 1000);
      const u = await meter();
      const s1 = await dbStats(sys, statements);
      const secs = u.elapsedMs / 1000;
      const per = (a: number, b: number) => Math.round(((b - a) / secs) * 10) / 10;
      r.idle[cfg.label] = {
        instances: o.idleInstances,
        seconds: Math.round(secs * 10) / 10,
        workersMsPerS: Math.round((u.workersMs / secs) * 10) / 10,
        postgresMsPerS: u.postgresMs === null ? null : Math.round((u.postgresMs / secs) * 10) / 10,
        walBytesPerS: Math.round(u.walBytes / secs),
        source: s0.calls !== null && s1.calls !== null ? "pg_stat_statements" : "pg_stat_database",
        statementsPerS: s0.calls !== null && s1.calls !== null ? per(s0.calls, s1.calls) : null,
        xactPerS: per(s0.xact, s1.xact),
        tupReadPerS: per(s0.tupRead, s1.tupRead),
        tupWrittenPerS: per(s0.tupWritten, s1.tupWritten),
      };
      const x = r.idle[cfg.label];
      say(
        `    instances ${fmt(x.workersMsPerS, 1)} ms CPU/s, Postgres ${x.postgresMsPerS === null ? "–" : fmt(x.postgresMsPerS, 1)} ms CPU/s, ` +
          `${fmt(x.walBytesPerS)} B WAL/s; ${x.statementsPerS !== null ? `${fmt(x.statementsPerS, 1)} statements/s, ` : ""}` +
          `${fmt(x.xactPerS, 1)} transactions/s, ${fmt(x.tupReadPerS)} tuples read/s (${x.source})`,
      );
    } finally {
      noteMemory(r, cfg.label, await stopAll(children));
      save();
    }
  }
}
