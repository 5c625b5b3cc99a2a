/**
 * Types of baton's HTTP API, generated from GET /openapi.json by openapi-typescript.
 * Do not edit: run `npm run client:types` (test/client.test.ts fails while this file is stale).
 */
export interface paths {
    "/api/conversations/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Delete a conversation */
        delete: operations["deleteConversation"];
        options?: never;
        head?: never;
        /** Edit a conversation */
        patch: operations["updateConversation"];
        trace?: never;
    };
    "/api/queues": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Queues with their limits and live counts (waiting, pending, running, started in the last minute) */
        get: operations["listQueues"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/queues/{name}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A queue with its limits and live counts (a queue without a row shows the defaults) */
        get: operations["getQueue"];
        /** Create or replace a queue's concurrency, rate limit and paused flag; omitted fields take their defaults */
        put: operations["putQueue"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/queues/{name}/pause": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Stop new starts of the queue's tasks on every instance; running tasks finish */
        post: operations["pauseQueue"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/queues/{name}/resume": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Let the queue's tasks start again, within its limits */
        post: operations["resumeQueue"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/schedules": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List schedules (filter by status or type; cursor pagination by id) */
        get: operations["listSchedules"];
        put?: never;
        /** Create a schedule (cron in a time zone, interval, or one-time) */
        post: operations["createSchedule"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/schedules/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A schedule with nextRunAt and its next 5 fire times */
        get: operations["getSchedule"];
        put?: never;
        post?: never;
        /** Delete a schedule (its tasks stay, with scheduleId null) */
        delete: operations["deleteSchedule"];
        options?: never;
        head?: never;
        /** Edit a schedule; a new trigger moves nextRunAt to its first fire time after now */
        patch: operations["updateSchedule"];
        trace?: never;
    };
    "/api/schedules/{id}/pause": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Pause an active schedule (no firings until resumed) */
        post: operations["pauseSchedule"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/schedules/{id}/resume": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Resume a paused or inactive schedule: next firing at the next due time (catchUp all: missed ones too) */
        post: operations["resumeSchedule"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/schedules/{id}/trigger": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Run now: create one task for an active or paused schedule immediately (next due time unchanged); 409 when inactive */
        post: operations["triggerSchedule"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/schedules/preview": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Validate a trigger and show its next fire times (nothing is stored) */
        post: operations["previewTrigger"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/settings/notifications": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The notifications setting (defaults, switched off, until set) */
        get: operations["getNotificationSettings"];
        /**
         * Replace the notifications setting (fields left out take their defaults)
         * @description Takes effect at once on every instance: failures committed after this call use the new setting, and queued deliveries check it again when they run (switching off stops them).
         */
        put: operations["putNotificationSettings"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/settings/notifications/test": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Queue a test message to the configured webhook */
        post: operations["testNotifications"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/status": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** This instance, live instances, counts by status, scheduler state */
        get: operations["getStatus"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/task-logs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Execution history, newest first (filter by task, event, instance, time) */
        get: operations["listTaskLogs"];
        put?: never;
        /** Add a note from outside (source = api) */
        post: operations["addTaskNote"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/task-logs/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One log row */
        get: operations["getTaskLog"];
        put?: never;
        post?: never;
        /** Delete a note (api rows only) */
        delete: operations["deleteTaskNote"];
        options?: never;
        head?: never;
        /** Edit a note (api rows only; system rows are read-only: 409) */
        patch: operations["updateTaskNote"];
        trace?: never;
    };
    "/api/task-types": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The task-type registry with JSON Schemas of the parameters */
        get: operations["listTaskTypes"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/tasks": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List tasks (filters, search, keyset cursor, total) */
        get: operations["listTasks"];
        put?: never;
        /** Create a task */
        post: operations["createTask"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/tasks/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A task with its conversations and latest logs */
        get: operations["getTask"];
        put?: never;
        post?: never;
        /** Delete a task with its conversations and logs (409 while processing) */
        delete: operations["deleteTask"];
        options?: never;
        head?: never;
        /** Edit a task that has not started */
        patch: operations["updateTask"];
        trace?: never;
    };
    "/api/tasks/{id}/cancel": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Cancel a backlog, pending, retrying or processing task */
        post: operations["cancelTask"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/tasks/{id}/conversations": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A task's conversations, oldest first */
        get: operations["listConversations"];
        put?: never;
        /** Append one conversation, or several as {items: [...]} */
        post: operations["addConversations"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/tasks/{id}/graph": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The workflow a task belongs to: every task connected to it by dependencies, and the edges */
        get: operations["getTaskGraph"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/tasks/{id}/logs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One task's log rows, newest first */
        get: operations["listLogsOfTask"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/tasks/{id}/retry": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Move a failed or canceled task back to pending */
        post: operations["retryTask"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/tasks/batch": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Create up to 10,000 tasks in one statement */
        post: operations["createTasks"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/tasks/status": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Bulk status report from an external system */
        post: operations["reportTaskStatus"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Prometheus metrics: attempts and durations by type and outcome, queue latency, tasks by status, instances */
        get: operations["getMetrics"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        AddConversations: components["schemas"]["ConversationInput"] | {
            items: components["schemas"]["ConversationInput"][];
        };
        BatchCreate: {
            /**
             * @description key: duplicates share a dedupeKey; content: identical type + payload is a duplicate
             * @default key
             * @enum {string}
             */
            dedupe?: "key" | "content";
            tasks: components["schemas"]["CreateTask"][];
        };
        BatchResult: {
            created: number;
            duplicates: number;
            ids: number[];
            /**
             * @description Each ref of the batch and the id of its task (the existing task's for a duplicate)
             * @example {
             *       "split": 41
             *     }
             */
            refs?: {
                [key: string]: number;
            };
        };
        BulkStatus: {
            /** @default [] */
            completed?: number[];
            /** @default [] */
            failed?: number[];
            /** @default [] */
            pending?: number[];
        };
        BulkStatusResult: {
            conflicts: number[];
            notFound: number[];
            updated: number;
        };
        Conversation: {
            content: string;
            createdAt: string;
            id: number;
            role: string;
            status: string;
            taskId: number;
            updatedAt: string;
        };
        ConversationInput: {
            content: string;
            role?: string;
            status?: string;
        };
        CreateSchedule: {
            backoff?: {
                /** @default 1000 */
                baseMs?: number;
                /** @default 3600000 */
                maxMs?: number;
            };
            /**
             * @description After downtime: none | latest (default) | all (at most 100)
             * @enum {string}
             */
            catchUp?: "none" | "latest" | "all";
            /** @description Firings in a row that end failed before the schedule becomes inactive (null: never) */
            deactivateAfterFailures?: number | null;
            /** @description Attempts each created task gets (default 1) */
            maxAttempts?: number;
            /** @example daily-report */
            name: string;
            /**
             * @description A firing while the previous task is unfinished: skip (default) | allow
             * @enum {string}
             */
            overlap?: "skip" | "allow";
            /** @description Payload of created tasks, validated against the type's schema */
            payload?: {
                [key: string]: unknown;
            };
            priority?: number;
            queue?: string | null;
            /** @enum {string} */
            status?: "active" | "paused";
            timeoutMs?: number | null;
            /** @description Title of created tasks (default: the schedule name) */
            title?: string | null;
            trigger: components["schemas"]["ScheduleTrigger"];
            /**
             * @description Task type of the created tasks (GET /api/task-types)
             * @example http
             */
            type: string;
        };
        CreateTask: {
            backoff?: {
                /** @default 1000 */
                baseMs?: number;
                /** @default 3600000 */
                maxMs?: number;
            };
            conversations?: components["schemas"]["ConversationInput"][];
            dedupeKey?: string;
            /**
             * @description Parents: task ids, or (in a batch) refs of tasks of the same batch. The task waits until every parent completed (see onParentFailure)
             * @example [
             *       41
             *     ]
             */
            dependsOn?: (number | string)[];
            description?: string;
            /** @description true: created in backlog, released later */
            hold?: boolean;
            maxAttempts?: number;
            /**
             * @description cancel (default): a parent that ends failed or canceled cancels this task; continue: it releases it
             * @enum {string}
             */
            onParentFailure?: "cancel" | "continue";
            /**
             * @example {
             *       "durationMs": 6500
             *     }
             */
            payload?: {
                [key: string]: unknown;
            };
            /** @description Higher runs sooner (default 0) */
            priority?: number;
            /** @description Tasks sharing a queue run one at a time */
            queue?: string | null;
            /**
             * @description Batch only: a name other tasks of the same batch give in dependsOn
             * @example split
             */
            ref?: string;
            /**
             * Format: date-time
             * @description Not before this instant
             */
            runAt?: string;
            timeoutMs?: number;
            /** @example Process customer feedback */
            title?: string;
            /** @example simulate */
            type: string;
        };
        CronTrigger: {
            /**
             * @description 5 fields (minute hour day month weekday) or 6 (seconds first); croner syntax
             * @example 0 9 * * *
             */
            expression: string;
            /**
             * @description discriminator enum property added by openapi-typescript
             * @enum {string}
             */
            kind: "cron";
            /**
             * @description IANA time zone the expression is read in
             * @default UTC
             * @example Europe/Berlin
             */
            timezone?: string;
        };
        IntervalTrigger: {
            /**
             * @description discriminator enum property added by openapi-typescript
             * @enum {string}
             */
            kind: "interval";
            /**
             * @description Seconds between firings
             * @example 900
             */
            seconds: number;
            /**
             * Format: date-time
             * @description Anchor of the grid (first due time); default: now + seconds
             */
            startAt?: string;
        };
        NoteInput: {
            attempt?: number;
            /** @enum {string} */
            event?: "note";
            message: string;
            taskId: number;
        };
        NotificationSettings: {
            /**
             * @description First retry delay; doubles per attempt, capped at 10 minutes
             * @default 5000
             */
            backoffBaseMs?: number;
            /**
             * @description Master switch; off stops queued deliveries too
             * @default false
             */
            enabled?: boolean;
            /**
             * @default {
             *       "taskFailed": true,
             *       "scheduleDeactivated": true,
             *       "taskCompleted": false
             *     }
             */
            events?: {
                /**
                 * @description A schedule became inactive
                 * @default true
                 */
                scheduleDeactivated?: boolean;
                /**
                 * @description A task completed (can be many messages)
                 * @default false
                 */
                taskCompleted?: boolean;
                /**
                 * @description A task failed permanently (no attempts left, or a permanent error)
                 * @default true
                 */
                taskFailed?: boolean;
            };
            /**
             * @description slack {"text"}, discord {"content"}, feishu {"msg_type":"text","content":{"text"}}, generic {event, text, task|schedule, sentAt}
             * @default generic
             * @enum {string}
             */
            format?: "slack" | "discord" | "feishu" | "generic";
            /**
             * @description Attempts per delivery (5xx, 408, 429 and network errors retry)
             * @default 6
             */
            maxAttempts?: number;
            /**
             * @default null
             * @example https://hooks.slack.com/services/T000/B000/XXXX
             */
            webhookUrl?: string | null;
        };
        NotificationSettingsState: {
            backoffBaseMs: number;
            enabled: boolean;
            events: {
                scheduleDeactivated: boolean;
                taskCompleted: boolean;
                taskFailed: boolean;
            };
            format: string;
            maxAttempts: number;
            /** @description Last change; null while never set (defaults shown) */
            updatedAt: string | null;
            webhookUrl: string | null;
        };
        OnceTrigger: {
            /**
             * Format: date-time
             * @description The one due time; must be in the future
             * @example 2026-12-01T00:00:00Z
             */
            at: string;
            /**
             * @description discriminator enum property added by openapi-typescript
             * @enum {string}
             */
            kind: "once";
        };
        PatchConversation: {
            content?: string;
            role?: string;
            status?: string;
        };
        PatchSchedule: {
            backoff?: {
                /** @default 1000 */
                baseMs?: number;
                /** @default 3600000 */
                maxMs?: number;
            };
            /**
             * @description After downtime: none | latest (default) | all (at most 100)
             * @enum {string}
             */
            catchUp?: "none" | "latest" | "all";
            /** @description Firings in a row that end failed before the schedule becomes inactive (null: never) */
            deactivateAfterFailures?: number | null;
            /** @description Attempts each created task gets (default 1) */
            maxAttempts?: number;
            /** @example daily-report */
            name?: string;
            /**
             * @description A firing while the previous task is unfinished: skip (default) | allow
             * @enum {string}
             */
            overlap?: "skip" | "allow";
            /** @description Payload of created tasks, validated against the type's schema */
            payload?: {
                [key: string]: unknown;
            };
            priority?: number;
            queue?: string | null;
            /** @enum {string} */
            status?: "active" | "paused" | "inactive";
            timeoutMs?: number | null;
            /** @description Title of created tasks (default: the schedule name) */
            title?: string | null;
            trigger?: components["schemas"]["ScheduleTrigger"];
            /**
             * @description Task type of the created tasks (GET /api/task-types)
             * @example http
             */
            type?: string;
        };
        PatchTask: {
            description?: string;
            payload?: {
                [key: string]: unknown;
            };
            priority?: number;
            /** Format: date-time */
            runAt?: string;
            title?: string;
        };
        Problem: {
            detail: string;
            errors?: {
                field: string;
                message: string;
            }[];
            requestId?: string;
            status: number;
            title: string;
            type: string;
        };
        /** @description The last ctx.progress() of the running (or last) attempt; stored at most once a second */
        Progress: {
            at: string;
            message: string | null;
            percent: number;
        } | null;
        /**
         * @example {
         *       "concurrency": 3,
         *       "rateLimit": {
         *         "limit": 10,
         *         "perSeconds": 1
         *       },
         *       "paused": false
         *     }
         */
        PutQueueBody: {
            /**
             * @description At most this many tasks of the queue run at once, across all instances (default 1)
             * @example 3
             */
            concurrency?: number;
            /**
             * @description true: no new task of the queue starts
             * @example false
             */
            paused?: boolean;
            /** @description At most limit starts in any window of perSeconds; null: none */
            rateLimit?: {
                /**
                 * @description Starts allowed per window
                 * @example 10
                 */
                limit: number;
                /**
                 * @description Window length in seconds
                 * @example 1
                 */
                perSeconds: number;
            } | null;
        };
        /**
         * @example {
         *       "name": "partner-api",
         *       "concurrency": 3,
         *       "rateLimit": {
         *         "limit": 10,
         *         "perSeconds": 1
         *       },
         *       "paused": false,
         *       "configured": true,
         *       "waiting": 12,
         *       "pending": 0,
         *       "running": 3,
         *       "startedLastMinute": 58,
         *       "createdAt": "2026-11-24T09:00:00.000Z",
         *       "updatedAt": "2026-11-24T09:00:00.000Z"
         *     }
         */
        Queue: {
            /** @example 3 */
            concurrency: number;
            /** @description false: the queue has tasks but no row, so it runs with the defaults (concurrency 1) */
            configured: boolean;
            /** @example 2026-11-24T09:00:00.000Z */
            createdAt: string | null;
            /** @example partner-api */
            name: string;
            paused: boolean;
            /**
             * @description Admitted, not started yet
             * @example 0
             */
            pending: number;
            rateLimit: components["schemas"]["RateLimit"];
            /** @example 3 */
            running: number;
            /** @example 58 */
            startedLastMinute: number;
            /** @example 2026-11-24T09:00:00.000Z */
            updatedAt: string | null;
            /**
             * @description Held by baton: the queue is full, rate limited or paused
             * @example 12
             */
            waiting: number;
        };
        QueueList: {
            items: components["schemas"]["Queue"][];
        };
        RateLimit: {
            /**
             * @description Starts allowed per window
             * @example 10
             */
            limit: number;
            /**
             * @description Window length in seconds
             * @example 1
             */
            perSeconds: number;
        } | null;
        Schedule: {
            backoff: {
                baseMs: number;
                maxMs: number;
            };
            /** @enum {string} */
            catchUp: "none" | "latest" | "all";
            consecutiveFailures: number;
            createdAt: string;
            deactivateAfterFailures: number | null;
            deactivatedReason: string | null;
            id: number;
            /** @description Due time of the latest firing */
            lastRunAt: string | null;
            maxAttempts: number;
            name: string;
            /** @description Next due time while active; null when paused or inactive */
            nextRunAt: string | null;
            /** @description The next 5 fire times while active (nextRunAt first) */
            nextRuns: string[];
            /** @enum {string} */
            overlap: "skip" | "allow";
            payload?: unknown;
            priority: number;
            queue: string | null;
            /** @enum {string} */
            status: "active" | "paused" | "inactive";
            timeoutMs: number | null;
            title: string | null;
            trigger: components["schemas"]["ScheduleTrigger"];
            type: string;
            updatedAt: string;
        };
        ScheduleList: {
            items: components["schemas"]["Schedule"][];
            nextCursor: string | null;
            total: number;
        };
        ScheduleTrigger: components["schemas"]["CronTrigger"] | components["schemas"]["IntervalTrigger"] | components["schemas"]["OnceTrigger"];
        /** @description Sections of plug-ins (scheduler, dashboard) come as further fields */
        Status: {
            /** @description Tasks by status */
            counts: {
                [key: string]: number;
            };
            instance: {
                concurrency: number;
                id: string;
                running: {
                    attempts: number;
                    id: number;
                    startedAt: string | null;
                    title: string;
                    type: string;
                }[];
                startedAt: string;
                version: string;
                workerEnabled: boolean;
            };
            /** @description Every live instance (heartbeat within INSTANCE_DEAD_AFTER_MS) */
            instances: {
                concurrency: number;
                heartbeatAt: string;
                host: string;
                id: string;
                pid: number;
                port: number | null;
                /** @description Tasks it is processing */
                running: number;
                startedAt: string;
                version: string;
            }[];
        } & {
            [key: string]: unknown;
        };
        Task: {
            attempts: number;
            backoff: {
                baseMs: number;
                maxMs: number;
            };
            /** @description The parent whose failure canceled this task; retrying that parent revives it */
            canceledBy: number | null;
            createdAt: string;
            dedupeKey: string | null;
            description: string;
            finishedAt: string | null;
            id: number;
            lastError: string | null;
            lockedBy: string | null;
            maxAttempts: number;
            /** @enum {string} */
            onParentFailure: "cancel" | "continue";
            payload?: unknown;
            priority: number;
            progress: components["schemas"]["Progress"];
            queue: string | null;
            result?: unknown;
            runAt: string;
            scheduledFor: string | null;
            scheduleId: number | null;
            startedAt: string | null;
            /** @enum {string} */
            status: "waiting" | "backlog" | "pending" | "processing" | "retrying" | "completed" | "failed" | "canceled";
            timeoutMs: number | null;
            title: string;
            type: string;
            updatedAt: string;
        };
        TaskDetail: components["schemas"]["Task"] & {
            conversations: components["schemas"]["Conversation"][];
            /** @description Ids of the tasks that wait for this one */
            dependents: number[];
            /** @description Ids of the tasks this one waits for */
            dependsOn: number[];
            logs: components["schemas"]["TaskLog"][];
        };
        TaskList: {
            items: components["schemas"]["Task"][];
            nextCursor: string | null;
            total: number;
            /** @description true when more than 10,000 tasks match: total is then the planner's estimate, not an exact count */
            totalEstimated: boolean;
        };
        TaskLog: {
            attempt: number;
            createdAt: string;
            durationMs: number | null;
            event: string;
            id: number;
            instanceId: string | null;
            message: string | null;
            /** @enum {string} */
            source: "system" | "api";
            startedAt: string | null;
            taskId: number;
        };
        TriggerPreview: {
            /** @default 5 */
            count?: number;
            trigger: components["schemas"]["ScheduleTrigger"];
        };
        WorkflowGraph: {
            edges: {
                from: number;
                to: number;
            }[];
            nodes: components["schemas"]["Task"][];
            /** @description true when the workflow has more tasks than one answer carries (20,000) */
            truncated: boolean;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    deleteConversation: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Problem (400) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (404) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    updateConversation: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["PatchConversation"];
            };
        };
        responses: {
            /** @description The conversation */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Conversation"];
                };
            };
            /** @description Problem (400) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (404) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    listQueues: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Every queue with a row, and every queue that has active tasks */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["QueueList"];
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    getQueue: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The queue */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Queue"];
                };
            };
            /** @description Problem (400) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    putQueue: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                name: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["PutQueueBody"];
            };
        };
        responses: {
            /** @description The queue */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Queue"];
                };
            };
            /** @description Problem (400) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (413) */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (415) */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    pauseQueue: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The queue */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Queue"];
                };
            };
            /** @description Problem (400) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    resumeQueue: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The queue */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Queue"];
                };
            };
            /** @description Problem (400) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    listSchedules: {
        parameters: {
            query?: {
                /** @description nextCursor of the previous page */
                cursor?: string;
                limit?: number;
                status?: "active" | "paused" | "inactive";
                type?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of schedules */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ScheduleList"];
                };
            };
            /** @description Problem (400) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    createSchedule: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateSchedule"];
            };
        };
        responses: {
            /** @description The schedule with nextRunAt and the next 5 fire times */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Schedule"];
                };
            };
            /** @description Problem (400) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (409) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (413) */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    getSchedule: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The schedule */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Schedule"];
                };
            };
            /** @description Problem (400) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (404) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    deleteSchedule: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Problem (400) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (404) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    updateSchedule: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["PatchSchedule"];
            };
        };
        responses: {
            /** @description The schedule */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Schedule"];
                };
            };
            /** @description Problem (400) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (404) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (409) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    pauseSchedule: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The schedule */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Schedule"];
                };
            };
            /** @description Problem (400) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (404) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (409) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    resumeSchedule: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The schedule */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Schedule"];
                };
            };
            /** @description Problem (400) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (404) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (409) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    triggerSchedule: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The created task */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Task"];
                };
            };
            /** @description Problem (400) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (404) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (409) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    previewTrigger: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["TriggerPreview"];
            };
        };
        responses: {
            /** @description The next fire times */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        nextRuns: string[];
                        trigger?: unknown;
                    };
                };
            };
            /** @description Problem (400) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    getNotificationSettings: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The setting */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["NotificationSettingsState"];
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    putNotificationSettings: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["NotificationSettings"];
            };
        };
        responses: {
            /** @description The stored setting */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["NotificationSettingsState"];
                };
            };
            /** @description Problem (400) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    testNotifications: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The delivery task (type notify) */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        taskId: number;
                    };
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (409) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    getStatus: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Status */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Status"];
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (503) */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    listTaskLogs: {
        parameters: {
            query?: {
                /** @description nextCursor of the previous page */
                cursor?: string;
                event?: "started" | "succeeded" | "failed" | "retry_scheduled" | "canceled" | "recovered" | "returned" | "note";
                instanceId?: string;
                limit?: number;
                since?: string;
                taskId?: number;
                until?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of log rows */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        items: components["schemas"]["TaskLog"][];
                        nextCursor: string | null;
                        total: number;
                    };
                };
            };
            /** @description Problem (400) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    addTaskNote: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["NoteInput"];
            };
        };
        responses: {
            /** @description The note */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TaskLog"];
                };
            };
            /** @description Problem (400) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (404) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    getTaskLog: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The row */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TaskLog"];
                };
            };
            /** @description Problem (400) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (404) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    deleteTaskNote: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Problem (400) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (404) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (409) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    updateTaskNote: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    message: string;
                };
            };
        };
        responses: {
            /** @description The note */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TaskLog"];
                };
            };
            /** @description Problem (400) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (404) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (409) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    listTaskTypes: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Task types */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        items: {
                            description: string;
                            name: string;
                            parameters?: unknown;
                        }[];
                    };
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    listTasks: {
        parameters: {
            query?: {
                cursor?: string;
                limit?: number;
                order?: "asc" | "desc";
                queue?: string;
                scheduleId?: number;
                /** @description Case-insensitive substring of the title */
                search?: string;
                sort?: "id" | "priority" | "createdAt" | "updatedAt" | "runAt";
                /** @description One status or a comma-separated list */
                status?: string;
                type?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of tasks */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TaskList"];
                };
            };
            /** @description Problem (400) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    createTask: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateTask"];
            };
        };
        responses: {
            /** @description The created task */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Task"];
                };
            };
            /** @description Problem (400) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (409) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (413) */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (422) */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    getTask: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The task */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TaskDetail"];
                };
            };
            /** @description Problem (400) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (404) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    deleteTask: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Problem (400) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (404) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (409) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    updateTask: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["PatchTask"];
            };
        };
        responses: {
            /** @description The task */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Task"];
                };
            };
            /** @description Problem (400) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (404) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (409) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    cancelTask: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The canceled task */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Task"];
                };
            };
            /** @description Problem (400) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (404) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (409) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    listConversations: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Conversations */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        items: components["schemas"]["Conversation"][];
                    };
                };
            };
            /** @description Problem (400) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (404) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    addConversations: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["AddConversations"];
            };
        };
        responses: {
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        items: components["schemas"]["Conversation"][];
                    };
                };
            };
            /** @description Problem (400) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (404) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    getTaskGraph: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Nodes and edges */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WorkflowGraph"];
                };
            };
            /** @description Problem (400) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (404) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    listLogsOfTask: {
        parameters: {
            query?: {
                /** @description nextCursor of the previous page */
                cursor?: string;
                event?: "started" | "succeeded" | "failed" | "retry_scheduled" | "canceled" | "recovered" | "returned" | "note";
                instanceId?: string;
                limit?: number;
                since?: string;
                until?: string;
            };
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of log rows */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        items: components["schemas"]["TaskLog"][];
                        nextCursor: string | null;
                        total: number;
                    };
                };
            };
            /** @description Problem (400) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (404) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    retryTask: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The task, pending again */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Task"];
                };
            };
            /** @description Problem (400) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (404) */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (409) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    createTasks: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["BatchCreate"];
            };
        };
        responses: {
            /** @description Counts and new ids */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BatchResult"];
                };
            };
            /** @description Problem (400) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (413) */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (422) */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    reportTaskStatus: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["BulkStatus"];
            };
        };
        responses: {
            /** @description What changed */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BulkStatusResult"];
                };
            };
            /** @description Problem (400) */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    getMetrics: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Prometheus text format 0.0.4. Still answers while the database is away (baton_database_up 0). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": string;
                };
            };
            /** @description Problem (401) */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
}
