/**
 * Benchmark settings: sizes, repetitions and the configurations compared. Every value comes from
 * a `--name=value` flag or the matching `BENCH_NAME` environment variable (flags win), so a quick
 * run is `npm run bench -- --scale=small` and a single stage is `--only=processing`.
 */

export type Stage = "enqueue" | "processing" | "latency" | "scale";
export const ALL_STAGES: Stage[] = ["enqueue", "processing", "latency", "scale"];
export type SystemName = "baton" | "graphile-worker" | "pg-boss";

export interface BenchOptions {
  scale: "full" | "small";
  stages: Stage[];
  systems: SystemName[];
  /** Worker configurations to run (slugs of their labels, e.g. baton-localqueue); all when empty. */
  configs: string[];
  reps: number;
  /** Jobs a process may hold at once, the same for every system (WORKER_CONCURRENCY for baton). */
  concurrency: number;
  /** localQueue size used by "batched" graphile-worker and by baton's tuned configuration. */
  localQueue: number;
  /** completeJobBatchDelay for batched graphile-worker (baton's WORKER_COMPLETE_BATCH_DELAY_MS). */
  completeBatchDelayMs: number;
  /** pg-boss: jobs per fetch and polling loops per process (pg-boss 10 has no teamSize). */
  bossBatchSize: number;
  bossLoops: number;
  /** (a) single creates: clients and creates per repetition. */
  singleClients: number;
  singleCount: number;
  /** (a) batch enqueue: tasks per repetition (split into requests of 1,000 and 10,000). */
  batchTotal: number;
  batchClients: number;
  /** (b) tasks drained per repetition. */
  drainCount: number;
  /** (c) open-loop rate and duration. */
  latencyRate: number;
  latencySeconds: number;
  /** (d) history rows and queued rows of the big case, tasks per measured window, small case. */
  scaleRows: number;
  scaleWindow: number;
  scaleBaseline: number;
  /** (d) requests per list / get measurement. */
  apiSamples: number;
  /** Postgres: DATABASE_URL, or an embedded server in dir on port. */
  databaseUrl?: string;
  pgDir: string;
  pgPort: number;
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

export function loadOptions(argv: string[], env: Record<string, string | undefined>): BenchOptions {
  const args = readArgs(argv);
  const get = (name: string): string | undefined => args[name] ?? env[`BENCH_${name}`];
  const num = (name: string, dflt: number): number => {
    const v = get(name);
    if (v === undefined || v === "") return dflt;
    const n = Number(v.replace(/_/g, ""));
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name.toLowerCase()}: not a number: ${v}`);
    return n;
  };
  const scale = (get("SCALE") ?? "full") as BenchOptions["scale"];
  if (scale !== "full" && scale !== "small") throw new Error("--scale must be full or small");
  const small = scale === "small";
  const stages = (get("ONLY") ?? ALL_STAGES.join(",")).split(",").map((s) => s.trim()) as Stage[];
  for (const s of stages) if (!ALL_STAGES.includes(s)) throw new Error(`--only: unknown stage ${s}`);
  const systems = (get("SYSTEMS") ?? "baton,graphile-worker,pg-boss").split(",").map((s) => s.trim()) as SystemName[];
  for (const s of systems) if (!["baton", "graphile-worker", "pg-boss"].includes(s)) throw new Error(`--systems: unknown ${s}`);
  return {
    scale,
    stages,
    systems,
    configs: (get("CONFIGS") ?? "").split(",").map((s) => s.trim()).filter(Boolean),
    reps: Math.max(3, num("REPS", 3)),
    concurrency: num("CONCURRENCY", 100),
    localQueue: num("LOCAL_QUEUE", 500),
    completeBatchDelayMs: num("COMPLETE_BATCH_DELAY", 0),
    bossBatchSize: num("BOSS_BATCH_SIZE", 100),
    bossLoops: num("BOSS_LOOPS", 20),
    singleClients: num("SINGLE_CLIENTS", 16),
    singleCount: num("SINGLE_COUNT", small ? 3_000 : 10_000),
    batchTotal: num("BATCH_TOTAL", small ? 20_000 : 100_000),
    batchClients: num("BATCH_CLIENTS", 2),
    drainCount: num("DRAIN", small ? 10_000 : 100_000),
    latencyRate: num("LATENCY_RATE", 20),
    latencySeconds: num("LATENCY_SECONDS", small ? 8 : 20),
    scaleRows: num("SCALE_ROWS", small ? 100_000 : 1_000_000),
    scaleWindow: num("SCALE_WINDOW", small ? 10_000 : 50_000),
    scaleBaseline: num("SCALE_BASELINE", 10_000),
    apiSamples: num("API_SAMPLES", small ? 200 : 500),
    databaseUrl: env.DATABASE_URL || undefined,
    pgDir: get("PG_DIR") ?? ".data/bench-pg",
    pgPort: num("PG_PORT", 54339),
    outDir: get("OUT") ?? "bench-results",
    runtime: get("RUNTIME") === "tsx" ? "tsx" : "dist",
  };
}
