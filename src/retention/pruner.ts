/**
 * Retention: deletes completed and canceled tasks finished more than RETENTION_DAYS ago, and
 * failed ones after FAILED_RETENTION_DAYS (0 keeps them forever), with their conversations and
 * logs. Every PRUNE_INTERVAL_MS each instance runs a pass: batches of PRUNE_BATCH_SIZE rows, each
 * its own short transaction with FOR UPDATE SKIP LOCKED, and a short pause between batches, so
 * pruning never holds a lock for long, never waits on a row someone else holds, and lets
 * concurrent creates and claims interleave. Instances pruning at the same time take disjoint rows.
 *
 * Measured (test/retention.test.ts, 100,000 old tasks): see docs/scaling.md.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Database } from "../db/client.js";
import { pruneInstances, pruneTasksBatch } from "../db/queries/retention.js";
import type { Logger } from "../log.js";
import type { Component } from "../service.js";
import { Periodic } from "./periodic.js";

const DAY_MS = 86_400_000;

export interface PrunerConfig {
  /** Completed and canceled tasks finished longer ago are deleted (0: keep forever). */
  retentionDays: number;
  /** Failed tasks finished longer ago are deleted (0: keep forever). */
  failedRetentionDays: number;
  /** Time between passes (0: pruning disabled on this instance). */
  intervalMs: number;
  /** Rows per statement and kind (default 1000). */
  batchSize: number;
  /** Pause between batches, so other statements interleave (default 10 ms). */
  pauseMs?: number;
  /** Delay before the first pass (default: 5-10 s, jittered, so instances started together spread). */
  firstDelayMs?: number;
}

export interface PruneResult {
  deleted: number;
  batches: number;
  ms: number;
  instances: number;
}

export class Pruner implements Component {
  readonly name = "pruner";
  private readonly periodic: Periodic<PruneResult>;

  constructor(
    private readonly database: Database,
    private readonly log: Logger,
    private readonly cfg: PrunerConfig,
    private readonly onPruned: (n: number) => void = () => {},
  ) {
    this.periodic = new Periodic(
      cfg.intervalMs,
      () => this.pass(new Date()),
      (err) => this.log.warn({ err: err.message }, "prune pass failed; retrying next interval"),
    );
  }

  async start(): Promise<void> {
    this.periodic.start(this.cfg.firstDelayMs ?? Math.min(this.cfg.intervalMs, 5_000 + Math.random() * 5_000));
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }

  /** One pass until nothing old is left (or stop() is called); joins a pass already running. */
  runOnce(now = new Date()): Promise<PruneResult> {
    return this.periodic.runOnce(() => this.pass(now));
  }

  private async pass(now: Date): Promise<PruneResult> {
    const { retentionDays, failedRetentionDays, batchSize } = this.cfg;
    const completedBefore = retentionDays > 0 ? new Date(+now - retentionDays * DAY_MS) : null;
    const failedBefore = failedRetentionDays > 0 ? new Date(+now - failedRetentionDays * DAY_MS) : null;
    const t0 = performance.now();
    let deleted = 0;
    let batches = 0;
    if (completedBefore || failedBefore) {
      while (!this.periodic.stopped) {
        const n = await pruneTasksBatch(this.database.db, { completedBefore, failedBefore, limit: batchSize });
        batches++;
        deleted += n;
        if (n === 0) break;
        this.onPruned(n);
        await sleep(this.cfg.pauseMs ?? 10);
      }
    }
    const instances = completedBefore && !this.periodic.stopped ? await pruneInstances(this.database.db, completedBefore) : 0;
    const ms = Math.round(performance.now() - t0);
    if (deleted || instances) this.log.info({ deleted, batches, ms, instances }, "pruned old tasks");
    return { deleted, batches, ms, instances };
  }
}
