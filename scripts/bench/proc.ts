/**
 * Child processes of the benchmark: every worker (baton instance, graphile-worker runner, pg-boss
 * worker) runs in its own Node process, started the same way (`node --import tsx <entry>`), so
 * CPU, event loop and memory are measured per instance. Children talk back over IPC: `ready`
 * once they serve or work, and `probe` messages from the latency task.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdirSync, readFileSync } from "node:fs";
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

export async function spawnChild(name: string, entry: string, env: Record<string, string>, logDir: string): Promise<Child> {
  mkdirSync(logDir, { recursive: true });
  const out = createWriteStream(path.join(logDir, `${name}.log`), { flags: "a" });
  const proc = spawn(process.execPath, ["--import", "tsx", entry], {
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
