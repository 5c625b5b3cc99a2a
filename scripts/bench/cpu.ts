/**
 * CPU time spent by processes, from /proc (Linux): the workers' own processes and, when the
 * benchmark started the embedded Postgres, every process of that server (backends, WAL writer,
 * checkpointer, autovacuum). CPU per task does not depend on how busy the shared machine is the
 * way throughput does, so it shows where the cost of a task goes.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";

const TICK_MS = 10; // USER_HZ is 100 on Linux

/**
 * The fields of /proc/<pid>/stat after the command name (state is [0], ppid [1], utime [11],
 * stime [12]); null when the process is gone.
 */
function statFields(pid: number | string): string[] | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    return s.slice(s.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

/** utime + stime of a process, in ms (0 when it is gone). */
export function cpuMs(pid: number): number {
  const f = statFields(pid);
  return f ? (Number(f[11]) + Number(f[12])) * TICK_MS : 0;
}

/** The postmaster and its children, for a data directory this machine runs; [] otherwise. */
export function postgresPids(dataDir: string | null): number[] {
  if (!dataDir) return [];
  const pidFile = path.join(dataDir, "postmaster.pid");
  if (!existsSync(pidFile)) return [];
  const pm = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
  const out = [pm];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    if (Number(statFields(d)?.[1]) === pm) out.push(Number(d)); // null: exited meanwhile
  }
  return out;
}

/** A CPU meter over a set of processes; Postgres children are re-listed at read time. */
export function cpuMeter(workerPids: number[], pgDataDir: string | null): () => { workersMs: number; postgresMs: number } {
  const pg0 = new Map(postgresPids(pgDataDir).map((p) => [p, cpuMs(p)]));
  const w0 = workerPids.map(cpuMs);
  return () => {
    let postgresMs = 0;
    for (const p of postgresPids(pgDataDir)) postgresMs += cpuMs(p) - (pg0.get(p) ?? 0);
    const workersMs = workerPids.reduce((a, p, i) => a + cpuMs(p) - w0[i], 0);
    return { workersMs, postgresMs };
  };
}
