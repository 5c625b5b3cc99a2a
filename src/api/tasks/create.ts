/**
 * Task creation shared by the API routes, the dashboard and the scheduler. Single creates that
 * arrive together are gathered into one statement (one transaction, one NOTIFY): each caller still
 * gets its own id only after its row has committed.
 */
import { Batcher } from "../../db/batcher.js";
import type { Database } from "../../db/client.js";
import { findIdByDedupeKey, insertTasks, type NewTask } from "../../db/queries/tasks.js";
import type { Task } from "../../db/types.js";
import { AppError, type FieldError } from "../../domain/errors.js";
import { containsNul, jsonDepth } from "../../domain/json.js";
import { contentDedupeKey } from "../../domain/tasks.js";
import { creatingTraceparent } from "../../tracing/index.js";
import { validatePayload } from "../../worker/registry.js";
import type { CreateTaskInput } from "./tasks.schemas.js";

export const MAX_PAYLOAD_DEPTH = 32;

export class TaskCreator {
  private readonly singles: Batcher<NewTask, Task | null>;

  constructor(private readonly database: Database) {
    this.singles = new Batcher({
      run: async (items) => (await insertTasks(database.db, items)).rows,
      maxSize: 1000,
      // group commit: while two inserts are out, new creates queue and go together in the next
      maxInFlight: 2,
    });
  }

  /**
   * Validates one input (payload against its type's schema) into a row; prefix names the field
   * path, traceparent is the creating context's (creatingTraceparent).
   */
  toNewTask(input: CreateTaskInput, dedupe: "key" | "content", prefix = "", traceparent: string | null = null): { task?: NewTask; errors: FieldError[] } {
    const errors: FieldError[] = [];
    const payload = input.payload ?? {};
    if (containsNul(payload)) errors.push({ field: `${prefix}payload`, message: "must not contain U+0000 (NUL)" });
    else if (jsonDepth(payload) > MAX_PAYLOAD_DEPTH) errors.push({ field: `${prefix}payload`, message: `nested deeper than ${MAX_PAYLOAD_DEPTH} levels` });
    else {
      const v = validatePayload(input.type, payload);
      if (!v.ok) for (const e of v.errors) errors.push({ field: `${prefix}${e.field}`, message: e.message });
    }
    if (errors.length) return { errors };
    const dedupeKey = input.dedupeKey ?? (dedupe === "content" ? contentDedupeKey(input.type, payload) : null);
    return {
      errors,
      task: {
        type: input.type,
        title: input.title,
        description: input.description,
        payload,
        status: input.hold ? "backlog" : "pending",
        priority: input.priority,
        queue: input.queue ?? null,
        runAt: input.runAt ?? null,
        maxAttempts: input.maxAttempts,
        backoff: input.backoff,
        timeoutMs: input.timeoutMs ?? null,
        dedupeKey,
        traceparent,
        conversations: input.conversations,
      },
    };
  }

  /**
   * Creates one task; a duplicate dedupeKey is a 409 naming the existing task. `traceparent` is
   * the request's header: the task stores the active span's context, else that header.
   */
  async createOne(input: CreateTaskInput, dedupe: "key" | "content" = "key", traceparent?: string | null): Promise<Task> {
    const { task, errors } = this.toNewTask(input, dedupe, "", creatingTraceparent(traceparent));
    if (!task) throw new AppError("VALIDATION", errors.map((e) => `${e.field}: ${e.message}`).join("; "), { errors });
    const row = await this.singles.push(task);
    if (!row) {
      const existingId = task.dedupeKey ? await findIdByDedupeKey(this.database.db, task.dedupeKey) : null;
      throw new AppError("CONFLICT", `a task with dedupeKey '${task.dedupeKey}' already exists`, { existingId });
    }
    return row;
  }

  /** Creates up to 10,000 tasks in one statement; duplicates are counted, not inserted. */
  async createMany(
    inputs: CreateTaskInput[],
    dedupe: "key" | "content",
    traceparent?: string | null,
  ): Promise<{ created: number; duplicates: number; ids: number[] }> {
    const rows: NewTask[] = [];
    const errors: FieldError[] = [];
    const context = creatingTraceparent(traceparent);
    inputs.forEach((input, i) => {
      const r = this.toNewTask(input, dedupe, `tasks.${i}.`, context);
      if (r.task) rows.push(r.task);
      else errors.push(...r.errors);
    });
    if (errors.length) {
      throw new AppError("VALIDATION", `${errors.length} invalid field(s); first: ${errors[0].field}: ${errors[0].message}`, {
        errors: errors.slice(0, 100),
      });
    }
    const r = await insertTasks(this.database.db, rows, { ids: true });
    return { created: r.created, duplicates: r.duplicates, ids: r.ids.filter((x): x is number => x !== null) };
  }
}
