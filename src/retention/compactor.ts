/**
 * Jobs-table compaction. graphile-worker's jobs table (graphile_worker._private_jobs) is a queue:
 * every job row is inserted, locked, then deleted, so the table holds a few live rows among the
 * space vacuum makes reusable. While something holds the xmin horizon back (a forgotten
 * transaction, a long report, a stale replication slot), vacuum can free nothing and every new
 * job goes into a new page. Once the horizon moves, vacuum makes those pages reusable, but the
 * file keeps its size: the few live jobs are spread over it, so vacuum can only cut an empty tail
 * and finds none. The table and its indexes then stay several times the size the load needs, and
 * every claim reads through them.
 *
 * Every JOBS_COMPACT_INTERVAL_MS each instance looks (one catalog read and, only when the table
 * may be bloated, a capped count of its rows); one at a time, under an advisory lock, it rewrites
 * the table with VACUUM FULL when all of these hold:
 *   - the table with its indexes is over 1 MiB (smaller is never worth a lock);
 *   - no transaction of this database that holds back the horizon is older than a minute
 *     (VACUUM FULL would have to copy every row that transaction may still see, and gain nothing);
 *   - vacuum has run on the table since the last look (until it has, the dead rows are still in
 *     place and the size says nothing about what the load needs);
 *   - it holds at most 50,000 live jobs (a rewrite of a few jobs takes tens of milliseconds, of
 *     32,650 took 0.42 s in the torture run; a bigger backlog is left to vacuum, which reuses the
 *     space as the backlog drains);
 *   - it is over 2.5 × what its live rows and the jobs inserted since the last look take. A
 *     queue's steady size is about one vacuum cycle of inserts (autovacuum's naptime is a minute,
 *     like the look interval), so a busy queue at its steady size is not rewritten over and over;
 *     a table bloated to less than 2.5 × one interval's churn is left as it is.
 * VACUUM FULL takes an ACCESS EXCLUSIVE lock: it waits at most 100 ms for it (lock_timeout), and
 * gives up for this pass when it cannot have it, so claims and completions stall for at most
 * that wait plus the rewrite. docs/reliability.md has the measured effect.
 */
import type { Database } from "../db/client.js";
import { guardReserved } from "../db/connection-guard.js";
import type { Logger } from "../log.js";
import type { Component } from "../service.js";
import { Periodic } from "./periodic.js";

export interface CompactorConfig {
  /** Time between looks (0: compaction off on this instance). */
  intervalMs: number;
  /** Delay before the first look (default: the interval, jittered by up to 10 %). */
  firstDelayMs?: number;
  /** A transaction holding the horizon longer than this defers compaction (default COMPACT_HORIZON_MS). */
  horizonMs?: number;
}

/** Below this size (table and indexes) a table is never rewritten. */
export const COMPACT_MIN_BYTES = 1024 * 1024;
/** Above this many live jobs a table is never rewritten. */
export const COMPACT_MAX_LIVE = 50_000;
/** The table is rewritten when it is over this many times what its live rows and one interval of inserts need. */
export const COMPACT_FACTOR = 2.5;
/** A transaction holding the horizon for longer than this defers compaction. */
export const COMPACT_HORIZON_MS = 60_000;
/** How long VACUUM FULL may wait for its lock. */
export const COMPACT_LOCK_TIMEOUT_MS = 100;

/** Bytes a job row takes in the table and its indexes beyond pg_column_size of its columns. */
const ROW_OVERHEAD_BYTES = 120;

export type CompactOutcome =
  | { compacted: true; bytesBefore: number; bytesAfter: number; live: number; ms: number }
  | { compacted: false; reason: "small" | "first look" | "horizon held" | "no vacuum since" | "backlog" | "not bloated" | "busy" | "lock timeout"; bytes: number };

export class Compactor implements Component {
  readonly name = "compactor";
  private readonly periodic: Periodic<CompactOutcome>;
  /** Inserts and vacuums of the jobs table at the last look: the inserts between two looks are its churn. */
  private last: { inserts: number; vacuums: number } | null = null;

  constructor(
    private readonly database: Database,
    private readonly log: Logger,
    private readonly cfg: CompactorConfig,
    private readonly onCompacted: (o: Extract<CompactOutcome, { compacted: true }>) => void = () => {},
  ) {
    this.periodic = new Periodic(
      cfg.intervalMs,
      () => this.look(),
      (err) => this.log.warn({ err: err.message }, "jobs table compaction failed; retrying next interval"),
    );
  }

  async start(): Promise<void> {
    this.periodic.start(this.cfg.firstDelayMs ?? this.cfg.intervalMs * (1 + Math.random() * 0.1));
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }

  /** One look, and a rewrite when the table is bloated; joins a look already running. */
  runOnce(): Promise<CompactOutcome> {
    return this.periodic.runOnce();
  }

  private async look(): Promise<CompactOutcome> {
    const { sql, session } = this.database;
    const [stats] = await sql<{ bytes: number; inserts: number; vacuums: number; horizonMs: number | null }[]>`
      select pg_total_relation_size(s.relid)::bigint as bytes,
             s.n_tup_ins::bigint as inserts,
             (s.vacuum_count + s.autovacuum_count)::bigint as vacuums,
             (select extract(epoch from now() - min(a.xact_start)) * 1000
                from pg_stat_activity a
               where a.backend_xmin is not null and a.backend_type = 'client backend'
                 and a.datname = current_database() and a.pid <> pg_backend_pid())::float8 as "horizonMs"
        from pg_stat_all_tables s
       where s.relid = 'graphile_worker._private_jobs'::regclass`;
    if (!stats) return { compacted: false, reason: "small", bytes: 0 };
    const last = this.last;
    this.last = { inserts: stats.inserts, vacuums: stats.vacuums };
    const no = (reason: Extract<CompactOutcome, { compacted: false }>["reason"]) => ({ compacted: false as const, reason, bytes: stats.bytes });
    if (stats.bytes <= COMPACT_MIN_BYTES) return no("small");
    if (last === null) return no("first look");
    if (stats.horizonMs !== null && stats.horizonMs > (this.cfg.horizonMs ?? COMPACT_HORIZON_MS)) return no("horizon held");
    // until vacuum has run, the dead rows are still in place and the steady size is unknown
    if (stats.vacuums <= last.vacuums) return no("no vacuum since");
    const churn = Math.max(0, stats.inserts - last.inserts);
    const [rows] = await sql<{ live: number; liveBytes: number }[]>`
      select count(*)::int as live, coalesce(sum(pg_column_size(j.*)), 0)::bigint as "liveBytes"
        from (select * from graphile_worker._private_jobs limit ${COMPACT_MAX_LIVE + 1}) j`;
    if (rows.live > COMPACT_MAX_LIVE) return no("backlog");
    const rowBytes = (rows.live > 0 ? rows.liveBytes / rows.live : 200) + ROW_OVERHEAD_BYTES;
    const needed = (rows.live + churn) * rowBytes;
    if (stats.bytes <= COMPACT_FACTOR * needed) return no("not bloated");

    // VACUUM cannot run in a transaction: a session of its own, with the lock wait bounded (and
    // the wait for a connection: a reserve postgres.js never answers would hold up shutdown)
    const conn = await guardReserved(session).reserve();
    try {
      const [{ locked }] = await conn<{ locked: boolean }[]>`select pg_try_advisory_lock(hashtext('baton:compact-jobs')) as locked`;
      if (!locked) return no("busy");
      const t0 = performance.now();
      try {
        await conn.unsafe(`set lock_timeout = ${COMPACT_LOCK_TIMEOUT_MS}`);
        await conn.unsafe("vacuum (full) graphile_worker._private_jobs");
      } catch (err) {
        if ((err as { code?: string }).code === "55P03") return no("lock timeout");
        throw err;
      } finally {
        await conn.unsafe("reset lock_timeout").catch(() => {});
        await conn`select pg_advisory_unlock(hashtext('baton:compact-jobs'))`.catch(() => {});
      }
      const ms = Math.round(performance.now() - t0);
      const [{ bytes }] = await conn<{ bytes: number }[]>`select pg_total_relation_size('graphile_worker._private_jobs')::bigint as bytes`;
      const done = { compacted: true as const, bytesBefore: stats.bytes, bytesAfter: bytes, live: rows.live, ms };
      this.log.info(done, "compacted graphile-worker's jobs table");
      this.onCompacted(done);
      return done;
    } finally {
      conn.release();
    }
  }
}
