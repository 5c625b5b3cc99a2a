/**
 * What the worker hands a task type: the ctx of one attempt, and each type's handler bound to
 * this service's dependencies. A ctx carries no database handle; its conversation calls are
 * scoped to the attempt's own task.
 */
import type { Db } from "../db/client.js";
import { addConversations, listConversations, markConversations, updateConversation } from "../db/queries/conversations.js";
import { addNote } from "../db/queries/logs.js";
import type { Task } from "../db/types.js";
import type { OutboundClient } from "./outbound.js";
import type { TaskContext, TaskHandler, TaskType, TaskTypeDeps } from "./registry.js";

/** The ctx of one attempt of `task`. */
export function taskContext(o: { db: Db; task: Task; signal: AbortSignal; instanceId: string; outbound: OutboundClient }): TaskContext {
  const { db, task, instanceId } = o;
  return {
    task,
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
