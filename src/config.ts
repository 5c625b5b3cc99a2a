/**
 * The one place that reads process.env. Every setting is validated by zod at start; a bad value
 * stops the process with a message naming each failing variable.
 */
import { randomBytes } from "node:crypto";
import { z } from "zod";

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no", ""])
  .transform((v) => v === "true" || v === "1" || v === "yes");

const list = z
  .string()
  .transform((v) =>
    v
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  );

const pgUrl = z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// or postgresql:// URL");

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const configSchema = z.object({
  DATABASE_URL: pgUrl.optional(),
  /**
   * A direct (or session-mode pooler) connection for what needs a session: graphile-worker, LISTEN
   * (cancel, dashboard events), the migration lock. Unset: DATABASE_URL. Set it when DATABASE_URL
   * points at PgBouncer in transaction mode (README, "PgBouncer").
   */
  WORKER_DATABASE_URL: pgUrl.optional(),
  /**
   * Named prepared statements on DATABASE_URL's pool (src/db/prepared.ts). A transaction-mode
   * pooler that cannot keep them across transactions (PgBouncer before 1.21, or
   * max_prepared_statements = 0) needs false; WORKER_DATABASE_URL is not affected.
   */
  DB_PREPARED_STATEMENTS: bool.default(true),
  EMBEDDED_PG_PORT: int(1, 65535).default(54329),
  EMBEDDED_PG_DIR: z.string().min(1).default(".data/pg"),
  PORT: int(0, 65535).default(3000),
  HOST: z.string().min(1).default("127.0.0.1"),
  INSTANCE_ID: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,100}$/, "letters, digits, . _ : - only (1-100 chars)")
    .optional(),
  WORKER_CONCURRENCY: int(1, 1000).default(10),
  WORKER_ENABLED: bool.default(true),
  // Batched claiming (graphile-worker's local queue): each fetch locks up to this many jobs for
  // this instance. Unset: sized from the concurrency (defaultLocalQueueSize); 0 or 1 turns it off.
  // A new higher-priority task may wait behind the jobs already fetched (DESIGN.md invariant 8).
  WORKER_LOCAL_QUEUE_SIZE: int(0, 10_000).optional(),
  WORKER_COMPLETE_BATCH_DELAY_MS: int(-1, 10_000).default(0),
  WORKER_POLL_INTERVAL_MS: int(50, 600_000).default(1000),
  SCHEDULER_ENABLED: bool.default(true),
  /** Longest sleep of the scheduler loop; it wakes earlier when a schedule is due sooner. */
  SCHEDULER_TICK_MS: int(10, 60_000).default(1000),
  /** Due times older than this when fired count as missed (after downtime) and follow catchUp. */
  SCHEDULER_MISFIRE_GRACE_MS: int(0, 86_400_000).default(5000),
  API_KEY_HASHES: list
    .pipe(z.array(z.string().regex(/^[0-9a-f]{64}$/i, "each hash must be 64 hex digits (SHA-256)")))
    .default([]),
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
  SHUTDOWN_TIMEOUT_MS: int(0, 3_600_000).default(10_000),
  HEARTBEAT_INTERVAL_MS: int(100, 600_000).default(5_000),
  INSTANCE_DEAD_AFTER_MS: int(500, 3_600_000).default(20_000),
  RETENTION_DAYS: int(0, 36_500).default(30),
  FAILED_RETENTION_DAYS: int(0, 36_500).default(90),
  /** How often each instance looks for dead instances to take over (default: HEARTBEAT_INTERVAL_MS). */
  RECOVERY_INTERVAL_MS: int(100, 600_000).optional(),
  /** Time between retention passes; 0 disables pruning on this instance. RETENTION_DAYS=0 keeps tasks forever. */
  PRUNE_INTERVAL_MS: int(0, 86_400_000).default(300_000),
  PRUNE_BATCH_SIZE: int(1, 100_000).default(1000),
  /** Time between looks at graphile-worker's jobs table for bloat (src/retention/compactor.ts); 0 disables. */
  JOBS_COMPACT_INTERVAL_MS: int(0, 86_400_000).default(60_000),
  PUBLIC_DASHBOARD: bool.default(false),
  /** Interval of SSE keepalive comments on /events (proxies drop idle streams). */
  SSE_KEEPALIVE_MS: int(100, 3_600_000).default(15_000),
  MAX_BODY_BYTES: int(1024, 1024 * 1024 * 1024).default(10 * 1024 * 1024),
  OUTBOUND_ALLOW: list.default([]),
  OUTBOUND_DENY: list.default([]),
  RATE_LIMIT_PER_MINUTE: int(0, 10_000_000).default(0),
  /** How long an Idempotency-Key is remembered (default 24 h); expired keys are pruned. */
  IDEMPOTENCY_TTL_SECONDS: int(1, 30 * 86_400).default(86_400),
  DB_POOL_SIZE: int(1, 200).default(10),
});

export type Config = Omit<z.output<typeof configSchema>, "WORKER_LOCAL_QUEUE_SIZE"> & { INSTANCE_ID: string; WORKER_LOCAL_QUEUE_SIZE: number };

/**
 * The local queue size when WORKER_LOCAL_QUEUE_SIZE is unset: twice the concurrency (at least 2,
 * the smallest size that turns batching on). One fetch then feeds every worker and keeps as many
 * jobs again ready, so a worker that finishes takes its next job without a round trip, while at
 * most 2 × concurrency tasks per instance are locked ahead of a newer higher-priority task.
 */
export function defaultLocalQueueSize(concurrency: number): number {
  return Math.max(2, 2 * concurrency);
}

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join("\n  ")}`);
  }
}

/** Parses an environment (default: process.env) into a Config, or throws ConfigError. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const known = Object.keys(configSchema.shape);
  const input: Record<string, string> = {};
  for (const key of known) {
    const v = env[key];
    if (v !== undefined && v !== "") input[key] = v;
  }
  const parsed = configSchema
    .refine((c) => c.INSTANCE_DEAD_AFTER_MS > c.HEARTBEAT_INTERVAL_MS, {
      message: "must be greater than HEARTBEAT_INTERVAL_MS (an instance would be declared dead between two heartbeats)",
      path: ["INSTANCE_DEAD_AFTER_MS"],
    })
    .refine((c) => !c.WORKER_DATABASE_URL || c.DATABASE_URL, {
      message: "needs DATABASE_URL (the embedded Postgres is used directly)",
      path: ["WORKER_DATABASE_URL"],
    })
    .safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${i.path.join(".") || "(env)"}: ${i.message}`),
    );
  }
  return {
    ...parsed.data,
    INSTANCE_ID: parsed.data.INSTANCE_ID ?? `baton-${randomBytes(4).toString("hex")}`,
    WORKER_LOCAL_QUEUE_SIZE: parsed.data.WORKER_LOCAL_QUEUE_SIZE ?? defaultLocalQueueSize(parsed.data.WORKER_CONCURRENCY),
  };
}
