/**
 * Task creation shared by the API routes, the dashboard and the scheduler. Single creates that
 * arrive together are gathered into one statement (one transaction, one NOTIFY): each caller still
 * gets its own id only after its row has committed.
 */
import { Batcher } from "../../db/batcher.js";
import type { Database } from "../../db/client.js";
import { findIdByDedupeKey, findIdsByDedupeKeys, insertTasks, type NewTask } from "../../db/queries/tasks.js";
import type { Task } from "../../db/types.js";
import { AppError, type FieldError } from "../../domain/errors.js";
import { containsNul, jsonDepth } from "../../domain/json.js";
import { contentDedupeKey } from "../../domain/tasks.js";
import { creatingTraceparent } from "../../tracing/index.js";
import { validatePayload } from "../../worker/registry.js";
import { missingParents, type Parents, resolveParents } from "./dependencies.js";
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
        onParentFailure: input.onParentFailure,
      },
    };
  }

  /**
   * Runs a create with parents in its own transaction: the parent ids are checked there, and the
   * insert and baton.flow_created commit together. A deadlock (a parent's cancel cascading into
   * a task this request also names) is retried once.
   */
  private async withParents<T>(inputs: CreateTaskInput[], batch: boolean, run: (db: Database["db"]) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.database.db.transaction().execute(async (trx) => {
          const missing = await missingParents(trx, inputs, batch);
          if (missing.length) throw validation(missing);
          return run(trx);
        });
      } catch (err) {
        const e = err as { code?: string; constraint_name?: string };
        if (e?.code === "40P01" && attempt === 1) continue;
        // a parent deleted between the check and the insert
        if (e?.code === "23503" && e.constraint_name === "task_dependencies_depends_on_fkey") {
          throw validation([{ field: batch ? "tasks" : "dependsOn", message: "a parent task was deleted while this request ran" }]);
        }
        throw err;
      }
    }
  }

  /**
   * Creates one task; a duplicate dedupeKey is a 409 naming the existing task. `traceparent` is
   * the request's header: the task stores the active span's context, else that header.
   */
  async createOne(input: CreateTaskInput, dedupe: "key" | "content" = "key", traceparent?: string | null): Promise<Task> {
    const { task, errors } = this.toNewTask(input, dedupe, "", creatingTraceparent(traceparent));
    const deps = resolveParents([input], false);
    errors.push(...deps.errors);
    if (!task || errors.length) throw new AppError("VALIDATION", errors.map((e) => `${e.field}: ${e.message}`).join("; "), { errors });
    const parents = deps.parents[0];
    if (parents) task.dependsOn = parents.ids;
    const row = parents
      ? await this.withParents([input], false, async (trx) => (await insertTasks(trx, [task])).rows[0])
      : await this.singles.push(task);
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
  ): Promise<{ created: number; duplicates: number; ids: number[]; refs?: Record<string, number> }> {
    const rows: NewTask[] = [];
    const errors: FieldError[] = [];
    const context = creatingTraceparent(traceparent);
    const keys: (string | null | undefined)[] = [];
    inputs.forEach((input, i) => {
      const r = this.toNewTask(input, dedupe, `tasks.${i}.`, context);
      if (r.task) rows.push(r.task);
      else errors.push(...r.errors);
      keys.push(r.task ? r.task.dedupeKey : input.dedupeKey);
    });
    // refs resolve against the keys the rows are stored with (dedupe: "content" makes them)
    const deps = resolveParents(inputs, true, keys);
    errors.push(...deps.errors);
    if (errors.length) throw validation(errors);
    const withParents = deps.parents.some((p) => p !== null);
    deps.parents.forEach((p: Parents | null, i) => {
      if (!p) return;
      rows[i].dependsOn = p.ids;
      rows[i].dependsOnIndex = p.index;
    });
    const r = withParents
      ? await this.withParents(inputs, true, (trx) => insertTasks(trx, rows, { ids: true }))
      : await insertTasks(this.database.db, rows, { ids: true });
    const out: { created: number; duplicates: number; ids: number[]; refs?: Record<string, number> } = {
      created: r.created,
      duplicates: r.duplicates,
      ids: r.ids.filter((x): x is number => x !== null),
    };
    if (inputs.some((t) => t.ref !== undefined)) {
      // a duplicate's ref names the task that already has its dedupe key
      const dupKeys = inputs.flatMap((t, i) => (t.ref !== undefined && r.ids[i] === null && rows[i].dedupeKey ? [rows[i].dedupeKey as string] : []));
      const existing = await findIdsByDedupeKeys(this.database.db, dupKeys);
      const refs: Record<string, number> = {};
      for (const [i, t] of inputs.entries()) {
        if (t.ref === undefined) continue;
        const id = r.ids[i] ?? (rows[i].dedupeKey ? existing.get(rows[i].dedupeKey as string) : undefined);
        if (id !== undefined && id !== null) refs[t.ref] = id;
      }
      out.refs = refs;
    }
    return out;
  }
}

function validation(errors: FieldError[]): AppError {
  return new AppError("VALIDATION", `${errors.length} invalid field(s); first: ${errors[0].field}: ${errors[0].message}`, {
    errors: errors.slice(0, 100),
  });
}
