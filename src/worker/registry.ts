/**
 * The task-type registry. A type is a name, a description, a zod parameter schema (published as
 * JSON Schema at GET /api/task-types) and a handler. Each built-in type lives in its own file
 * under ./types and registers itself on import; ./types/index.ts imports them all. The registry
 * holds definitions only (code, the same for every service in the process); what an attempt needs
 * of its service reaches the handler through its ctx or, for system types, setup's deps.
 */
import { z } from "zod";
import type { Db } from "../db/client.js";
import type { ParentResult } from "../db/queries/workflows.js";
import type { Conversation, Task } from "../db/types.js";
import type { OutboundClient } from "./outbound.js";

export interface ConversationsApi {
  list(): Promise<Conversation[]>;
  append(items: { role?: string; content: string; status?: string }[]): Promise<Conversation[]>;
  /** Updates one of the task's own conversations; any other id is NOT_FOUND and stays unchanged. */
  update(id: number, patch: { role?: string; content?: string; status?: string }): Promise<Conversation>;
  /** Sets the status of every conversation of the task. */
  markAll(status: string): Promise<number>;
}

/**
 * What a handler sees of baton: its own task and conversations, a logger, its AbortSignal, and
 * the service's guarded outbound client. No database handle: a handler cannot read or change
 * other tasks.
 */
export interface TaskContext {
  task: Task;
  attempt: number;
  instanceId: string;
  signal: AbortSignal;
  /** Writes a `note` row to task_logs for this attempt. */
  log(message: string): Promise<void>;
  conversations: ConversationsApi;
  /** The service's outbound HTTP client (OUTBOUND_ALLOW / OUTBOUND_DENY, timeouts, size cap). */
  outbound: OutboundClient;
  /**
   * Reports how far the attempt is: percent from 0 to 100, and an optional message. Stored on the
   * task at most once a second (the last call always lands before the outcome). Throws at once
   * on a percent outside 0–100; the returned promise settles when the value is stored (it never
   * rejects), so a handler need not await it.
   */
  progress(percent: number, message?: string): Promise<void>;
  /** The task's parents (dependsOn), with their status and result, in id order. */
  parents(): Promise<ParentResult[]>;
}

export type TaskHandler<S extends z.ZodType = z.ZodType> = (params: z.output<S>, ctx: TaskContext) => Promise<unknown>;

/** What a system type's `setup` receives: the dependencies of the service whose worker runs it. */
export interface TaskTypeDeps {
  db: Db;
  outbound: OutboundClient;
  instanceId: string;
}

interface TaskTypeBase<S extends z.ZodType> {
  name: string;
  description: string;
  params: S;
}

/**
 * A task type. Ordinary types give a `handler`, which sees only ctx. Built-in system types whose
 * work reaches past their own task (release moves other tasks, notify reads the notifications
 * setting) give `setup` instead: each worker calls it once with its service's dependencies and
 * runs the handler it returns, so two services in one process never share state.
 */
export type TaskType<S extends z.ZodType = z.ZodType> = TaskTypeBase<S> &
  ({ handler: TaskHandler<S>; setup?: never } | { setup: (deps: TaskTypeDeps) => TaskHandler<S>; handler?: never });

const registry = new Map<string, TaskType>();

/** Adds a type to the registry (each type's module calls this on import). */
export function registerTaskType<S extends z.ZodType>(t: TaskType<S>): TaskType<S> {
  if (!/^[a-z][a-z0-9_.-]{0,63}$/.test(t.name)) throw new Error(`invalid task type name ${t.name}`);
  if (!t.handler === !t.setup) throw new Error(`task type ${t.name}: give exactly one of handler and setup`);
  registry.set(t.name, t as unknown as TaskType);
  return t;
}

export function getTaskType(name: string): TaskType | undefined {
  return registry.get(name);
}

export function taskTypes(): TaskType[] {
  return [...registry.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export function describeTaskTypes() {
  return taskTypes().map((t) => ({
    name: t.name,
    description: t.description,
    parameters: z.toJSONSchema(t.params, { io: "input", unrepresentable: "any" }),
  }));
}

/** Validates a payload against its type's schema: ok with the parsed value, or field errors. */
export function validatePayload(
  type: string,
  payload: unknown,
): { ok: true; value: unknown } | { ok: false; errors: { field: string; message: string }[] } {
  const t = registry.get(type);
  if (!t) return { ok: false, errors: [{ field: "type", message: `unknown task type '${type}'` }] };
  const r = t.params.safeParse(payload ?? {});
  if (r.success) return { ok: true, value: r.data };
  return {
    ok: false,
    errors: r.error.issues.map((i) => ({ field: ["payload", ...i.path.map(String)].join("."), message: i.message })),
  };
}
