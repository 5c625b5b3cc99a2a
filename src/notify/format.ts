/**
 * Notification messages: one plain sentence per event, wrapped in the body each chat service
 * expects. Pure functions, no I/O.
 */
import type { Format } from "./settings.js";

export interface TaskFacts {
  id: number;
  type: string;
  title?: string | null;
  status: string;
  attempts?: number;
  maxAttempts?: number;
  lastError?: string | null;
  scheduleId?: number | null;
  finishedAt?: string | null;
}

export interface ScheduleFacts {
  id: number;
  name: string;
  type?: string;
  status?: string;
  reason?: string | null;
  consecutiveFailures?: number;
  lastRunAt?: string | null;
}

/** What the database queued (see migrations/0005_events.sql) or the test endpoint sent. */
export type Delivery =
  | { event: "taskFailed" | "taskCompleted"; task: TaskFacts }
  | { event: "scheduleDeactivated"; schedule: ScheduleFacts }
  | { event: "test"; instanceId?: string };

const MAX_ERROR = 500;

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

function taskLabel(t: TaskFacts): string {
  const title = t.title ? ` "${clip(t.title, 120)}"` : "";
  return `task ${t.id}${title} (type ${t.type})`;
}

/** The one-line human text of a delivery. */
export function messageText(d: Delivery): string {
  switch (d.event) {
    case "taskFailed": {
      const t = d.task;
      const tries = t.attempts !== undefined && t.maxAttempts !== undefined ? ` after ${t.attempts} of ${t.maxAttempts} attempts` : "";
      const err = t.lastError ? `: ${clip(t.lastError, MAX_ERROR)}` : "";
      return `[baton] ${taskLabel(t)} failed permanently${tries}${err}`;
    }
    case "taskCompleted":
      return `[baton] ${taskLabel(d.task)} completed`;
    case "scheduleDeactivated": {
      const s = d.schedule;
      const why = s.reason ? `: ${clip(s.reason, MAX_ERROR)}` : s.consecutiveFailures ? ` after ${s.consecutiveFailures} failed run(s) in a row` : "";
      return `[baton] schedule "${clip(s.name, 200)}" was deactivated${why}`;
    }
    case "test":
      return `[baton] test notification${d.instanceId ? ` from instance ${d.instanceId}` : ""}: the webhook works`;
  }
}

/** The JSON body for a webhook of the given format. */
export function messageBody(format: Format, d: Delivery, sentAt: Date = new Date()): Record<string, unknown> {
  const text = messageText(d);
  switch (format) {
    case "slack":
      return { text };
    case "discord":
      return { content: clip(text, 2000) }; // Discord rejects content over 2000 characters
    case "feishu":
      return { msg_type: "text", content: { text } };
    case "generic": {
      const subject = d.event === "scheduleDeactivated" ? { schedule: d.schedule } : "task" in d ? { task: d.task } : {};
      return { event: d.event, text, ...subject, sentAt: sentAt.toISOString() };
    }
  }
}
