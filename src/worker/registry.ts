/**
 * The task-type registry. A type is a name, a description, a zod parameter schema (published as
 * JSON Schema at GET /api/task-types) and a handler. Each built-in type lives in its own file
 * under ./types and registers itself on import; ./types/index.ts imports them all.
 */
import { z } from "zod";
import type { Db } from "../db/client.js";
import type { Conversation, Task } from "../db/types.js";

export interface ConversationsApi {
  list(): Promise<Conversation[]>;
  append(items: { role?: string; content: string; status?: string }[]): Promise<Conversation[]>;
  update(id: number, patch: { role?: string; content?: string; status?: string }): Promise<Conversation>;
  /** Sets the status of every conversation of the task. */
  markAll(status: string): Promise<number>;
}

export interface TaskContext {
  task: Task;
  attempt: number;
  instanceId: string;
  signal: AbortSignal;
  /** Writes a `note` row to task_logs for this attempt. */
  log(message: string): Promise<void>;
  conversations: ConversationsApi;
  db: Db;
}

export interface TaskType<S extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  params: S;
  handler: (params: z.output<S>, ctx: TaskContext) => Promise<unknown>;
}

const registry = new Map<string, TaskType>();

export function registerTaskType<S extends z.ZodType>(t: TaskType<S>): TaskType<S> {
  if (!/^[a-z][a-z0-9_.-]{0,63}$/.test(t.name)) throw new Error(`invalid task type name ${t.name}`);
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
