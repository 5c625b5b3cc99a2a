/**
 * Benchmark settings: sizes, repetitions and the configurations compared. Every value comes from
 * a `--name=value` flag or the matching `BENCH_NAME` environment variable (flags win), so a quick
 * run is `npm run bench -- --scale=small` and a single stage is `--only=continuous`.
 */

export type Stage = "enqueue" | "processing" | "queues" | "latency" | "scale" | "continuous" | "idle" | "workflows";
export const ALL_STAGES: Stage[] = ["enqueue", "processing", "queues", "latency", "scale", "continuous", "idle", "workflows"];
export type SystemName = "baton" | "graphile-worker" | "pg-boss" | "bullmq";
export const ALL_SYSTEMS: SystemName[] = ["baton", "graphile-worker", "pg-boss", "bullmq"];

export interface BenchOptions {
  scale: "full" | "small";
  stages: Stage[];
  systems: SystemName[];
  /** Worker configurations to run (slugs of their labels, e.g. baton-no-localqueue); the default set when empty. */
  configs: string[];
  reps: number;
  /** Jobs a process may hold at once, the same for every system (WORKER_CONCURRENCY for baton). */
  concurrency: number;
  /** localQueue size of "batched" graphile-worker (its performance page) and of the opt-in baton (localQueue 500). */
  localQueue: number;
  /** completeJobBatchDelay / failJobBatchDelay of batched graphile-worker. */
  completeBatchDelayMs: number;
  /** maxPoolSize of batched graphile-worker (its performance page: 25). */
  gwPool: number;
  /** pg-boss: jobs per fetch; localConcurrency is concurrency / bossBatchSize, so both hold `concurrency` jobs. */
  bossBatchSize: number;
  /** BullMQ: pg.Pool size per worker process. */
  bullmqPool: number;
  /** (a) single creates: clients and creates per repetition. */
  singleClients: number;
  singleCount: number;
  /** (a) batch enqueue: tasks per repetition (split into requests of 1,000 and 10,000). */
  batchTotal: number;
  batchClients: number;
  /** (b) and (b2) queues: tasks drained per repetition, and the warm-up drain. */
  drainCount: number;
  drainWarmup: number;
  /** (c) open-loop rate and duration. */
  latencyRate: number;
  latencySeconds: number;
  /** (d) history rows and queued rows of the big case, tasks per measured window, small case. */
  scaleRows: number;
  scaleWindow: number;
  scaleBaseline: number;
  /** (d) requests per list / get measurement. */
  apiSamples: number;
  /** (f) continuous load: tasks kept queued, measured seconds, warm-up seconds, instances, probes per second. */
  continuousQueued: number;
  continuousSeconds: number;
  continuousWarmup: number;
  continuousInstances: number;
  probeRate: number;
  /** (f) seconds between throughput lines. */
  tickSeconds: number;
  /** (g) idle: instances and measured seconds (after a settle time). */
  idleInstances: number;
  idleSeconds: number;
  idleSettle: number;
  /**
   * (h) workflows: fan-out width (1 → width → 1), chain length, number of diamonds and their
   * width (each 1 → width → 1).
   */
  workflowFanout: number;
  workflowChain: number;
  workflowDiamonds: number;
  workflowDiamondWidth: number;
  /**
   * Load pg_stat_statements into the embedded server (restarting it), so the idle stage counts
   * statements, not transactions. Off by default: it costs every statement of every stage a
   * little. The embedded server's preload always follows this flag; a DATABASE_URL server is
   * used as it is.
   */
  statements: boolean;
  /** Postgres: DATABASE_URL, or an embedded server in dir on port. */
  databaseUrl?: string;
  pgDir: string;
  pgPort: number;
  /** Prefix of the databases the bench creates (one per system), e.g. bench_ → bench_baton. */
  dbPrefix: string;
  outDir: string;
  /** dist: compiled JavaScript run by node, as baton ships; tsx: the TypeScript sources. */
  runtime: "dist" | "tsx";
}

function readArgs(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new Error(`unknown argument ${a} (use --name=value)`);
    out[m[1].replace(/-/g, "_").toUpperCase()] = m[2] ?? "true";
  }
  return out;
}

function list<T extends string>(value: string, all: readonly T[], flag: string): T[] {
  const items = value.split(",").map((s) => s.trim()).filter(Boolean) as T[];
  for (const s of items) if (!all.includes(s)) throw new Error(`--${flag}: unknown ${s} (one of ${all.join(", ")})`);
  return items;
}

export function loadOptions(argv: string[], env: Record<string, string | undefined>): BenchOptions {
  const args = readArgs(argv);
  const get = (name: string): string | undefined => args[name] ?? env[`BENCH_${name}`];
  const num = (name: string, dflt: number): number => {
    const v = get(name);
    if (v === undefined || v === "") return dflt;
    const n = Number(v.replace(/_/g, ""));
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name.toLowerCase().replace(/_/g, "-")}: not a number: ${v}`);
    return n;
  };
  const scale = (get("SCALE") ?? "full") as BenchOptions["scale"];
  if (scale !== "full" && scale !== "small") throw new Error("--scale must be full or small");
  const small = scale === "small";
  const concurrency = num("CONCURRENCY", 100);
  const bossBatchSize = num("BOSS_BATCH_SIZE", 10);
  if (bossBatchSize < 1 || concurrency % bossBatchSize !== 0) {
    throw new Error(`--boss-batch-size must divide --concurrency (${concurrency}), so pg-boss holds the same number of jobs`);
  }
  return {
    scale,
    stages: list(get("ONLY") ?? ALL_STAGES.join(","), ALL_STAGES, "only"),
    systems: list(get("SYSTEMS") ?? ALL_SYSTEMS.join(","), ALL_SYSTEMS, "systems"),
    configs: (get("CONFIGS") ?? "").split(",").map((s) => s.trim()).filter(Boolean),
    reps: Math.max(3, num("REPS", 3)),
    concurrency,
    localQueue: num("LOCAL_QUEUE", 500),
    completeBatchDelayMs: num("COMPLETE_BATCH_DELAY", 0),
    gwPool: num("GW_POOL", 25),
    bossBatchSize,
    bullmqPool: num("BULLMQ_POOL", 20),
    singleClients: num("SINGLE_CLIENTS", 16),
    singleCount: num("SINGLE_COUNT", small ? 1_000 : 10_000),
    batchTotal: num("BATCH_TOTAL", small ? 10_000 : 100_000),
    batchClients: num("BATCH_CLIENTS", 2),
    drainCount: num("DRAIN", small ? 5_000 : 100_000),
    drainWarmup: num("DRAIN_WARMUP", small ? 2_000 : 5_000),
    latencyRate: num("LATENCY_RATE", 20),
    latencySeconds: num("LATENCY_SECONDS", small ? 6 : 20),
    scaleRows: num("SCALE_ROWS", small ? 100_000 : 1_000_000),
    scaleWindow: num("SCALE_WINDOW", small ? 10_000 : 50_000),
    scaleBaseline: num("SCALE_BASELINE", small ? 5_000 : 10_000),
    apiSamples: num("API_SAMPLES", small ? 100 : 500),
    continuousQueued: num("CONTINUOUS_QUEUED", 50_000),
    continuousSeconds: num("CONTINUOUS_SECONDS", small ? 14 : 60),
    continuousWarmup: num("CONTINUOUS_WARMUP", small ? 2 : 5),
    continuousInstances: Math.max(1, num("CONTINUOUS_INSTANCES", 2)),
    probeRate: num("PROBE_RATE", 1),
    tickSeconds: Math.max(0.5, num("TICK", 2)),
    idleInstances: Math.max(1, num("IDLE_INSTANCES", 2)),
    idleSeconds: num("IDLE_SECONDS", small ? 10 : 60),
    idleSettle: num("IDLE_SETTLE", small ? 3 : 10),
    workflowFanout: Math.max(1, num("WORKFLOW_FANOUT", small ? 1_000 : 10_000)),
    workflowChain: Math.max(2, num("WORKFLOW_CHAIN", small ? 200 : 1_000)),
    workflowDiamonds: Math.max(1, num("WORKFLOW_DIAMONDS", small ? 10 : 100)),
    workflowDiamondWidth: Math.max(1, num("WORKFLOW_DIAMOND_WIDTH", 100)),
    statements: ["1", "true", "yes"].includes((get("STATEMENTS") ?? "").toLowerCase()),
    databaseUrl: env.DATABASE_URL || undefined,
    pgDir: get("PG_DIR") ?? ".data/bench-pg",
    pgPort: num("PG_PORT", 54339),
    dbPrefix: get("DB_PREFIX") ?? "bench_",
    outDir: get("OUT") ?? "bench-results",
    runtime: get("RUNTIME") === "tsx" ? "tsx" : "dist",
  };
}
