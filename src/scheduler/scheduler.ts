/**
 * The scheduler: every instance runs one, and none of them is special. Each tick is one
 * transaction:
 *
 *   claim      due active schedules, FOR UPDATE SKIP LOCKED (claimDueSchedules)
 *   plan       due times since next_run_at → what to fire (catchUp, overlap) and the next due time
 *   insert     one task per firing, with schedule_id + scheduled_for, and its graphile_worker job,
 *              in one statement; ON CONFLICT DO NOTHING on (schedule_id, scheduled_for)
 *   advance    next_run_at / last_run_at / status of every claimed schedule, in one statement
 *
 * so a firing and the move of next_run_at commit together or not at all. Nothing lives only in
 * memory: a restarted or killed instance leaves next_run_at where the last commit put it, and any
 * instance picks up from there. The loop sleeps until the earliest due time, at most tickMs.
 */
import { EventEmitter } from "node:events";
import type { Database } from "../db/client.js";
import {
  type Advance,
  advanceSchedules,
  claimDueSchedules,
  msUntilNextDue,
  noteFirings,
  schedulesWithOpenTasks,
  shareSchedule,
} from "../db/queries/schedules.js";
import { insertTasks, type NewTask } from "../db/queries/tasks.js";
import type { Schedule, Task } from "../db/types.js";
import { AppError, notFound } from "../domain/errors.js";
import { firstRunAfter, planFirings } from "../domain/triggers.js";
import type { Logger } from "../log.js";
import { storedTrigger, taskForFiring } from "./lifecycle.js";

export interface SchedulerOptions {
  /** Longest sleep between ticks (SCHEDULER_TICK_MS); the loop wakes earlier for a due schedule. */
  tickMs: number;
  /** Due times older than this are "missed" and subject to catchUp (SCHEDULER_MISFIRE_GRACE_MS). */
  graceMs: number;
  /** Schedules claimed per transaction; a full batch is followed by another tick at once. */
  batchSize: number;
}

export interface FiredEvent {
  scheduleId: number;
  taskId: number;
  scheduledFor: Date;
}

export interface TickResult {
  claimed: number;
  fired: number;
  /** Firings that hit the unique key (already fired): expected to stay 0. */
  duplicates: number;
  /** Firings not made because the previous task was unfinished (overlap = skip). */
  skipped: number;
}

/** Sleep bounds: never spin on an overdue schedule another instance holds. */
const MIN_SLEEP_MS = 25;

export class Scheduler {
  readonly name = "scheduler";
  /** "fired" (FiredEvent) after each committed firing. */
  readonly events = new EventEmitter();
  private running = false;
  private loopDone: Promise<void> | null = null;
  private sleepTimer: NodeJS.Timeout | null = null;
  private wakeUp: (() => void) | null = null;

  constructor(
    private readonly deps: { database: Database; log: Logger; instanceId: string; options: SchedulerOptions },
  ) {}

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.loop();
    this.deps.log.info({ tickMs: this.deps.options.tickMs, graceMs: this.deps.options.graceMs }, "scheduler started");
  }

  /** Stops after the tick in flight (if any) has committed or rolled back. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.sleepTimer) clearTimeout(this.sleepTimer);
    this.wakeUp?.();
    await this.loopDone;
    this.deps.log.info("scheduler stopped");
  }

  private async loop(): Promise<void> {
    const { options, log } = this.deps;
    while (this.running) {
      let delay = options.tickMs;
      try {
        const r = await this.tick();
        if (r.claimed >= options.batchSize) delay = 0;
        else {
          const ms = await msUntilNextDue(this.deps.database.db);
          if (ms !== null) delay = Math.min(options.tickMs, Math.max(MIN_SLEEP_MS, Math.ceil(ms) + 1));
        }
      } catch (err) {
        log.warn({ err }, "scheduler tick failed; retrying next tick");
      }
      if (!this.running) break;
      await new Promise<void>((resolve) => {
        this.wakeUp = resolve;
        this.sleepTimer = setTimeout(resolve, delay);
      });
      this.wakeUp = null;
      this.sleepTimer = null;
    }
  }

  /** One claim-plan-insert-advance transaction. Public for tests and tools. */
  async tick(): Promise<TickResult> {
    const { database, log, instanceId, options } = this.deps;
    const fired: FiredEvent[] = [];
    const result = await database.db.transaction().execute(async (trx) => {
      const { rows, now } = await claimDueSchedules(trx, options.batchSize);
      if (rows.length === 0 || !now) return { claimed: 0, fired: 0, duplicates: 0, skipped: 0 };
      const open = await schedulesWithOpenTasks(trx, rows.filter((s) => s.overlap === "skip").map((s) => s.id));
      const tasks: NewTask[] = [];
      const firings: { schedule: Schedule; due: Date }[] = [];
      const advances: Advance[] = [];
      let skipped = 0;
      for (const s of rows) {
        const step = this.plan(s, now, open.has(s.id));
        skipped += step.skipped;
        advances.push(step.advance);
        for (const due of step.fire) {
          tasks.push(taskForFiring(s, due));
          firings.push({ schedule: s, due });
        }
      }
      const inserted = await insertTasks(trx, tasks);
      const notes: { taskId: number; message: string }[] = [];
      inserted.rows.forEach((task: Task | null, i) => {
        if (!task) return;
        const { schedule, due } = firings[i];
        notes.push({ taskId: task.id, message: `fired by schedule ${schedule.id} (${schedule.name}) for ${due.toISOString()}` });
        fired.push({ scheduleId: schedule.id, taskId: task.id, scheduledFor: due });
      });
      await noteFirings(trx, notes, instanceId);
      await advanceSchedules(trx, advances);
      if (inserted.duplicates) log.warn({ duplicates: inserted.duplicates }, "firings already existed (unique key): not fired twice");
      return { claimed: rows.length, fired: inserted.created, duplicates: inserted.duplicates, skipped };
    });
    for (const f of fired) this.events.emit("fired", f);
    if (result.fired) log.debug({ fired: result.fired }, "schedules fired");
    return result;
  }

  /** What to do with one claimed schedule: due times to fire and where next_run_at goes. */
  private plan(s: Schedule, now: Date, hasOpenTask: boolean): { fire: Date[]; skipped: number; advance: Advance } {
    const { log, options } = this.deps;
    try {
      const trigger = storedTrigger(s.trigger);
      if (s.nextRunAt === null) {
        // Set active in SQL without a due time: schedule the next one, fire nothing missed.
        const next = firstRunAfter(trigger, now);
        const reason = next ? null : "one-time trigger is in the past";
        return { fire: [], skipped: 0, advance: { id: s.id, nextRunAt: next, lastRunAt: null, status: next ? "active" : "inactive", deactivatedReason: reason } };
      }
      const plan = planFirings({ trigger, nextRunAt: new Date(s.nextRunAt), now, catchUp: s.catchUp, graceMs: options.graceMs });
      let fire = plan.fire;
      let skipped = 0;
      if (fire.length && s.overlap === "skip" && hasOpenTask) {
        skipped = fire.length;
        log.info({ scheduleId: s.id, due: fire.map((d) => d.toISOString()) }, "previous task unfinished: firing skipped (overlap = skip)");
        fire = [];
      }
      if (plan.dropped) {
        log.info({ scheduleId: s.id, missed: plan.missed, dropped: plan.dropped, catchUp: s.catchUp }, "missed due times not fired (catchUp)");
      }
      const finished = plan.next === null;
      let reason: string | null = null;
      if (finished) {
        if (trigger.kind !== "once") reason = "the trigger has no further fire times";
        else if (fire.length) reason = "one-time trigger fired";
        else if (skipped) reason = "one-time trigger skipped: the previous task was unfinished (overlap = skip)";
        else reason = `one-time trigger missed while no instance was running (catchUp = ${s.catchUp})`;
      }
      return {
        fire,
        skipped,
        advance: {
          id: s.id,
          nextRunAt: plan.next,
          lastRunAt: fire.length ? fire[fire.length - 1] : null,
          status: finished ? "inactive" : "active",
          deactivatedReason: reason,
        },
      };
    } catch (err) {
      // A trigger that cannot be computed (edited by hand, say) must not stall every other schedule.
      const reason = `cannot compute fire times: ${(err as Error).message}`.slice(0, 1000);
      log.error({ scheduleId: s.id, err }, "schedule deactivated: trigger unusable");
      return { fire: [], skipped: 0, advance: { id: s.id, nextRunAt: null, lastRunAt: null, status: "inactive", deactivatedReason: reason } };
    }
  }
}

/**
 * "Run now" (POST /api/schedules/{id}/trigger): one task for the schedule at once, active or
 * paused, whatever its overlap policy, with scheduled_for = the request time. next_run_at is not
 * touched. A missing schedule is NOT_FOUND (404), an inactive one INVALID_STATE (409): resuming
 * it is the explicit step that makes it run again.
 */
export async function runNow(database: Database, scheduleId: number, instanceId: string): Promise<Task> {
  return database.db.transaction().execute(async (trx) => {
    // Read under a row lock, so a delete or deactivation that commits first is seen here (404 or
    // 409), and one that comes later waits for this task to be in.
    const s = await shareSchedule(trx, scheduleId);
    if (!s) throw notFound("schedule", scheduleId);
    if (s.status === "inactive") {
      throw new AppError("INVALID_STATE", `schedule ${s.id} is inactive (${s.deactivatedReason ?? "no reason recorded"}); resume it to run it`);
    }
    // scheduled_for is unique per schedule; two requests in the same millisecond take the next one.
    for (let bump = 0; bump < 10; bump++) {
      const at = new Date(Date.now() + bump);
      const r = await insertTasks(trx, [taskForFiring(s, at, true)]);
      const task = r.rows[0];
      if (task) {
        await noteFirings(trx, [{ taskId: task.id, message: `run now for schedule ${s.id} (${s.name})` }], instanceId);
        return task;
      }
    }
    throw new AppError("CONFLICT", `schedule ${s.id} was run ten times within a few milliseconds; try again`);
  });
}
