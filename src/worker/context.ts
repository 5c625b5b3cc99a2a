/**
 * What the worker hands a task type: the ctx of one attempt, and each type's handler bound to
 * this service's dependencies. A ctx carries no database handle; its conversation calls are
 * scoped to the attempt's own task.
 */
import type { Db } from "../db/client.js";
import { addConversations, listConversations, markConversations, updateConversation } from "../db/queries/conversations.js";
import { addNote } from "../db/queries/logs.js";
import { parentResults, setProgress } from "../db/queries/workflows.js";
import type { Task } from "../db/types.js";
import type { OutboundClient } from "./outbound.js";
import type { TaskContext, TaskHandler, TaskType, TaskTypeDeps } from "./registry.js";

/** Most characters of a progress message that are stored. */
export const PROGRESS_MESSAGE_MAX = 1000;
/** Least time between two stored progress values of one attempt. */
export const PROGRESS_INTERVAL_MS = 1000;

/**
 * ctx.progress of one attempt: the first value is written at once, later ones at most once per
 * PROGRESS_INTERVAL_MS (the newest wins), and flush() writes the last one before the outcome.
 */
class ProgressWriter {
  /** performance.now() of the last write: monotonic, so a wall-clock step cannot stall the bar. */
  private lastAt = Number.NEGATIVE_INFINITY;
  private pending: { percent: number; message: string | null } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();
  private waiters: (() => void)[] = [];

  constructor(private readonly write: (p: { percent: number; message: string | null }) => Promise<unknown>) {}

  report(percent: number, message?: string): Promise<void> {
    if (typeof percent !== "number" || !Number.isFinite(percent) || percent < 0 || percent > 100) {
      throw new RangeError(`ctx.progress: percent must be a number from 0 to 100 (got ${String(percent)})`);
    }
    if (message !== undefined && typeof message !== "string") throw new TypeError("ctx.progress: message must be a string");
    this.pending = { percent, message: message === undefined ? null : message.replaceAll("\u0000", "").slice(0, PROGRESS_MESSAGE_MAX) };
    const landed = new Promise<void>((r) => this.waiters.push(r));
    if (!this.timer) {
      const wait = this.lastAt + PROGRESS_INTERVAL_MS - performance.now();
      if (wait <= 0) this.store();
      else {
        this.timer = setTimeout(() => {
          this.timer = null;
          this.store();
        }, wait);
        this.timer.unref();
      }
    }
    return landed;
  }

  private store(): void {
    const value = this.pending;
    const waiters = this.waiters;
    this.pending = null;
    this.waiters = [];
    if (!value) return;
    this.lastAt = performance.now();
    this.chain = this.chain
      .then(() => this.write(value))
      .catch(() => {}) // a lost write is a stale bar, never a failed attempt
      .then(() => {
        for (const w of waiters) w();
      });
  }

  /** Writes the value still waiting for its slot, and waits for every write. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.store();
    await this.chain;
  }
}

/** The ctx of one attempt of `task`, and `settle`, which the worker awaits before the outcome. */
export function attemptContext(o: { db: Db; task: Task; signal: AbortSignal; instanceId: string; outbound: OutboundClient }): {
  ctx: TaskContext;
  settle: () => Promise<void>;
} {
  const progress = new ProgressWriter((p) =>
    setProgress(o.db, { taskId: o.task.id, attempt: o.task.attempts, instanceId: o.instanceId, percent: p.percent, message: p.message }),
  );
  return { ctx: taskContext(o, progress), settle: () => progress.flush() };
}

/** The ctx of one attempt of `task`. */
export function taskContext(
  o: { db: Db; task: Task; signal: AbortSignal; instanceId: string; outbound: OutboundClient },
  progress = new ProgressWriter(() => Promise.resolve()),
): TaskContext {
  const { db, task, instanceId } = o;
  return {
    task,
    progress: (percent, message) => progress.report(percent, message),
    parents: () => parentResults(db, task.id),
    attempt: task.attempts,
    instanceId,
    signal: o.signal,
    outbound: o.outbound,
    log: async (message) => {
      await addNote(db, { taskId: task.id, attempt: task.attempts, instanceId, message, source: "system" });
    },
    conversations: {
      list: () => listConversations(db, task.id),
      append: (items) => addConversations(db, task.id, items),
      update: (id, patch) => updateConversation(db, id, patch, { taskId: task.id }),
      markAll: (status) => markConversations(db, task.id, status),
    },
  };
}

/** Each type's handler for one worker: `setup` types are bound to its deps once, on first use. */
export class TaskHandlers {
  // Keyed by the definition, so a type registered again under the same name is bound afresh.
  private readonly bound = new WeakMap<TaskType, TaskHandler>();

  constructor(private readonly deps: TaskTypeDeps) {}

  /** The handler that runs attempts of `type` on this worker. */
  of(type: TaskType): TaskHandler {
    if (type.handler) return type.handler;
    let h = this.bound.get(type);
    if (!h) {
      h = type.setup(this.deps);
      this.bound.set(type, h);
    }
    return h;
  }
}
