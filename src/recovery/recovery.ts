/**
 * Crash recovery: every live instance, every RECOVERY_INTERVAL_MS (default: the heartbeat
 * interval), looks for instances silent longer than their INSTANCE_DEAD_AFTER_MS and takes their
 * work over with baton.recover_instance (see migrations/0003_sql_surface.sql). With the defaults
 * (heartbeat 5 s, dead after 20 s) a crashed instance's tasks are running again within about
 * 25 s; graphile-worker's own 4-hour lock timeout never comes into it.
 *
 * Two guards keep a database outage from looking like everyone died:
 *   - this instance only judges others after it has itself reached the database on every tick
 *     for a whole dead-after window (so the others have had the same chance to beat);
 *   - the SQL function also waits until Postgres has been up for a window (pg_postmaster_start_time).
 *
 * The other half is fencing. Each tick the instance re-checks the tasks it is running: any that
 * is no longer `processing` under its id (taken over after this process was paused or cut off,
 * canceled while a NOTIFY was lost to a dropped connection, reported done) has its handler
 * aborted, so a task does not keep running in two places. If this instance finds itself marked
 * recovered, it says so loudly and re-opens its row, since its worker pool is still claiming.
 */
import type { Database } from "../db/client.js";
import { announce, type RecoveredTask, recoverInstance, recoveryCandidates, taskOwners } from "../db/queries/recovery.js";
import type { Logger } from "../log.js";
import type { Component } from "../service.js";
import { CanceledError } from "../worker/errors.js";
import type { WorkerService } from "../worker/pool.js";

export interface RecoveryConfig {
  instanceId: string;
  /** How often to look (RECOVERY_INTERVAL_MS, default HEARTBEAT_INTERVAL_MS = 5000). */
  intervalMs: number;
  /** Silence after which an instance is dead (INSTANCE_DEAD_AFTER_MS, default 20000). */
  deadAfterMs: number;
}

export interface RecoveryEvents {
  onRecovered?: (deadInstance: string, tasks: RecoveredTask[]) => void;
}

/** Thrown into a handler whose task another instance took over. */
export class TakenOverError extends Error {
  constructor(taskId: number) {
    super(`task ${taskId} was taken over by another instance; this attempt no longer counts`);
    this.name = "TakenOverError";
  }
}

export class Recovery implements Component {
  readonly name = "recovery";
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  /** Since when every tick has reached the database (null: the last one failed). */
  private reachableSince: number | null = null;

  constructor(
    private readonly database: Database,
    private readonly worker: WorkerService | null,
    private readonly log: Logger,
    private readonly cfg: RecoveryConfig,
    private readonly events: RecoveryEvents = {},
  ) {}

  async start(): Promise<void> {
    await this.tick();
    this.timer = setInterval(() => {
      if (!this.ticking) this.tick();
    }, this.cfg.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.ticking;
  }

  /** One pass; never rejects (a database outage is logged and retried next tick). */
  tick(): Promise<void> {
    this.ticking = this.pass()
      .catch((err) => {
        this.reachableSince = null;
        this.log.warn({ err: (err as Error).message }, "recovery pass failed; retrying next tick");
      })
      .finally(() => {
        this.ticking = null;
      });
    return this.ticking;
  }

  private async pass(): Promise<void> {
    const { db } = this.database;
    const me = this.cfg.instanceId;
    const self = await announce(db, { id: me, deadAfterMs: this.cfg.deadAfterMs, poolId: this.worker?.poolId ?? null });
    this.reachableSince ??= Date.now();
    if (self.wasRecovered) {
      this.log.error(
        "this instance was declared dead and its work taken over (paused or cut off longer than INSTANCE_DEAD_AFTER_MS); aborting attempts it no longer owns",
      );
    }
    await this.fence();
    if (Date.now() - this.reachableSince < this.cfg.deadAfterMs) return;
    for (const id of await recoveryCandidates(db, me, this.cfg.deadAfterMs)) {
      const tasks = await recoverInstance(db, id, me, this.cfg.deadAfterMs);
      // An empty result can also mean "nothing was running"; the row is then marked anyway.
      this.log.warn(
        {
          deadInstance: id,
          retrying: tasks.filter((t) => t.status === "retrying").map((t) => t.taskId),
          failed: tasks.filter((t) => t.status === "failed").map((t) => t.taskId),
        },
        "took over a dead instance's work",
      );
      this.events.onRecovered?.(id, tasks);
    }
  }

  /** Aborts local handlers whose task is no longer processing under this instance. */
  private async fence(): Promise<void> {
    const ids = this.worker?.runningIds() ?? [];
    if (ids.length === 0) return;
    const me = this.cfg.instanceId;
    const rows = await taskOwners(this.database.db, ids);
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const id of ids) {
      const row = byId.get(id);
      if (row && row.status === "processing" && row.lockedBy === me) continue;
      // Re-check: the attempt may have finished while the query ran.
      if (!this.worker?.runningIds().includes(id)) continue;
      const reason = row?.status === "canceled" ? new CanceledError() : new TakenOverError(id);
      if (!this.worker.abort(id, reason)) continue;
      // completed/failed here is usually this attempt's own outcome committing during the query.
      const level = row && (row.status === "completed" || row.status === "failed") ? "debug" : "warn";
      this.log[level]({ taskId: id, status: row?.status ?? "deleted", lockedBy: row?.lockedBy ?? null }, "aborted an attempt this instance no longer owns");
    }
  }
}
