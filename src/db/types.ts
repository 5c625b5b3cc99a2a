/** Table types for kysely (camelCase; CamelCasePlugin maps to the snake_case columns). */
import type { ColumnType, Generated, Selectable } from "kysely";

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json = ColumnType<unknown, unknown, unknown>;

export type TaskStatus =
  | "waiting"
  | "backlog"
  | "pending"
  | "processing"
  | "retrying"
  | "completed"
  | "failed"
  | "canceled";

export type LogEvent =
  | "started"
  | "succeeded"
  | "failed"
  | "retry_scheduled"
  | "canceled"
  | "recovered"
  | "returned"
  | "note";

export type OnParentFailure = "cancel" | "continue";

export interface Progress {
  percent: number;
  message: string | null;
  at: string;
}

export interface TaskDependenciesTable {
  taskId: number;
  dependsOn: number;
}

export interface Backoff {
  baseMs: number;
  maxMs: number;
}

export interface TasksTable {
  id: Generated<number>;
  type: string;
  title: Generated<string>;
  description: Generated<string>;
  payload: Json;
  status: Generated<TaskStatus>;
  priority: Generated<number>;
  queue: string | null;
  runAt: Timestamp;
  attempts: Generated<number>;
  maxAttempts: Generated<number>;
  backoff: ColumnType<Backoff, Backoff | undefined, Backoff>;
  timeoutMs: number | null;
  dedupeKey: string | null;
  result: Json | null;
  lastError: string | null;
  lockedBy: string | null;
  scheduleId: number | null;
  scheduledFor: Timestamp | null;
  /** W3C traceparent of the creating context (migration 0012; src/tracing). */
  traceparent: Generated<string | null>;
  /** The last ctx.progress() (migration 0013): {percent, message, at}. */
  progress: Generated<Progress | null>;
  /** What a failed or canceled parent does to this task (migration 0013). */
  onParentFailure: Generated<OnParentFailure>;
  /** The parent whose failure canceled this task; retrying that parent revives it. */
  canceledBy: Generated<number | null>;
  createdAt: Timestamp;
  updatedAt: Timestamp;
  startedAt: Timestamp | null;
  finishedAt: Timestamp | null;
}

export interface ConversationsTable {
  id: Generated<number>;
  taskId: number;
  role: Generated<string>;
  content: string;
  status: Generated<string>;
  createdAt: Timestamp;
  updatedAt: Timestamp;
}

export interface TaskLogsTable {
  id: Generated<number>;
  taskId: number;
  attempt: Generated<number>;
  event: LogEvent;
  instanceId: string | null;
  message: string | null;
  /** Start of the attempt on outcome (and started) rows; null outside an attempt. */
  startedAt: Timestamp | null;
  durationMs: number | null;
  source: Generated<"system" | "api">;
  createdAt: Timestamp;
}

export interface SchedulesTable {
  id: Generated<number>;
  name: string;
  type: string;
  title: string | null;
  payload: Json;
  trigger: Json;
  status: Generated<"active" | "paused" | "inactive">;
  priority: Generated<number>;
  queue: string | null;
  maxAttempts: Generated<number>;
  backoff: ColumnType<Backoff, Backoff | undefined, Backoff>;
  timeoutMs: number | null;
  overlap: Generated<"skip" | "allow">;
  catchUp: Generated<"none" | "latest" | "all">;
  consecutiveFailures: Generated<number>;
  deactivateAfterFailures: number | null;
  deactivatedReason: string | null;
  nextRunAt: Timestamp | null;
  lastRunAt: Timestamp | null;
  createdAt: Timestamp;
  updatedAt: Timestamp;
}

export interface InstancesTable {
  id: string;
  host: string;
  port: number | null;
  pid: number;
  version: string;
  concurrency: number;
  workerPoolId: string | null;
  startedAt: Timestamp;
  heartbeatAt: Timestamp;
  stoppedAt: Timestamp | null;
}

export interface SettingsTable {
  key: string;
  value: Json;
  updatedAt: Timestamp;
}

export interface DB {
  "baton.tasks": TasksTable;
  "baton.conversations": ConversationsTable;
  "baton.taskLogs": TaskLogsTable;
  "baton.schedules": SchedulesTable;
  "baton.instances": InstancesTable;
  "baton.settings": SettingsTable;
  "baton.queues": QueuesTable;
  "baton.taskDependencies": TaskDependenciesTable;
}

export interface QueuesTable {
  name: string;
  concurrency: Generated<number>;
  rateLimit: Json;
  paused: Generated<boolean>;
  createdAt: Generated<Timestamp>;
  updatedAt: Generated<Timestamp>;
}

export type Task = Selectable<TasksTable>;
export type Conversation = Selectable<ConversationsTable>;
export type TaskLog = Selectable<TaskLogsTable>;
export type Schedule = Selectable<SchedulesTable>;
export type Instance = Selectable<InstancesTable>;
