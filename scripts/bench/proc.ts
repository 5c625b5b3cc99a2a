/**
 * Child processes of the benchmark: every worker (baton instance, graphile-worker runner, pg-boss
 * instance, BullMQ worker) runs in its own Node process, started the same way, so CPU, event loop and memory are
 * measured per instance. By default the children are the compiled JavaScript in dist/ run by
 * plain `node`, as baton ships (`npm start` runs dist/src/main.js); `--runtime=tsx` runs the
 * TypeScript sources through tsx instead (about 30 MB more RSS per process). Children talk back
 * over IPC: `ready` once they serve or work, and `probe` messages from the latency task.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";

export const ROOT = path.resolve(import.meta.dirname, "../..");

export interface ProbeMessage {
  type: "probe";
  /** Epoch ms at which the orchestrator sent the create / add. */
  sent: number;
  /** Epoch ms at which the handler started. */
  start: number;
}

export interface Child {
  name: string;
  proc: ChildProcess;
  ready: Record<string, unknown>;
  /** Peak resident set size so far (VmHWM), in MB. */
  peakRssMb(): number;
  onProbe(fn: (m: ProbeMessage) => void): void;
  stop(): Promise<void>;
}

function vmHwmMb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(status);
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/**
 * The entry of a child: scripts/bench/child-<name>.ts through tsx, or its compiled twin in
 * dist/scripts/bench/ (see build()).
 */
export function childEntry(name: string): string {
  return runtime === "dist" ? path.join("dist", "scripts", "bench", `child-${name}.js`) : path.join("scripts", "bench", `child-${name}.ts`);
}

let runtime: "dist" | "tsx" = "dist";

/**
 * Compiles src/ and the bench children into dist/ (tsc, scripts/bench/tsconfig.json), as
 * `npm run build` does for src/. Type errors are reported but do not stop the run when the
 * files were emitted (tsc emits on error). Asynchronous, so progress lines keep coming.
 */
export async function build(mode: "dist" | "tsx", say: (s: string) => void): Promise<void> {
  runtime = mode;
  if (mode === "tsx") return;
  const tsc = spawn(process.execPath, [path.join("node_modules", "typescript", "bin", "tsc"), "-p", path.join("scripts", "bench", "tsconfig.json")], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: Buffer[] = [];
  tsc.stdout?.on("data", (d: Buffer) => output.push(d));
  tsc.stderr?.on("data", (d: Buffer) => output.push(d));
  const status = await new Promise<number | null>((resolve) => tsc.on("exit", resolve));
  const text = Buffer.concat(output).toString("utf8");
  if (status !== 0) say(`tsc reported errors (continuing with what it emitted):\n${text.split("\n").slice(0, 10).join("\n")}`);
  for (const c of ["baton", "graphile", "pgboss", "bullmq"]) {
    if (!existsSync(path.join(ROOT, childEntry(c)))) throw new Error(`build did not produce ${childEntry(c)}`);
  }
}

export async function spawnChild(name: string, entry: string, env: Record<string, string>, logDir: string): Promise<Child> {
  mkdirSync(logDir, { recursive: true });
  const out = createWriteStream(path.join(logDir, `${name}.log`), { flags: "a" });
  // BENCH_NODE_ARGS: extra node flags for the children, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
  const extra = (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const loader = entry.endsWith(".ts") ? ["--import", "tsx"] : [];
  const proc = spawn(process.execPath, [...extra, ...loader, entry], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", NODE_ENV: "production", ...env },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  proc.stdout?.pipe(out);
  proc.stderr?.pipe(out);
  const probes: ((m: ProbeMessage) => void)[] = [];
  let peak = 0;
  const sample = setInterval(() => {
    if (proc.pid) peak = Math.max(peak, vmHwmMb(proc.pid) || 0);
  }, 250);
  const exited = new Promise<number | null>((r) => proc.on("exit", (code) => r(code)));
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not become ready; see ${logDir}/${name}.log`)), 120_000);
    proc.on("message", (m: { type?: string }) => {
      if (m?.type === "ready") {
        clearTimeout(timer);
        resolve(m as Record<string, unknown>);
      } else if (m?.type === "probe") for (const f of probes) f(m as ProbeMessage);
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) during start; see ${logDir}/${name}.log`));
    });
  });
  return {
    name,
    proc,
    ready,
    peakRssMb: () => {
      if (proc.pid && proc.exitCode === null) peak = Math.max(peak, vmHwmMb(proc.pid) || 0);
      return peak;
    },
    onProbe: (fn) => probes.push(fn),
    stop: async () => {
      if (proc.pid && proc.exitCode === null) peak = Math.max(peak, vmHwmMb(proc.pid) || 0);
      clearInterval(sample);
      if (proc.exitCode === null) proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), 30_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Stops children in parallel and returns their peak RSS in MB. */
export async function stopAll(children: Child[]): Promise<number[]> {
  const peaks = children.map((c) => c.peakRssMb());
  await Promise.all(children.map((c) => c.stop()));
  return peaks.map((p, i) => Math.max(p, children[i].peakRssMb()));
}
