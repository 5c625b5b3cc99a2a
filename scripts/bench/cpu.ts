/**
 * What a piece of work cost, measured outside the systems: CPU time of the worker processes and
 * of every process of the Postgres server (postmaster, backends, WAL writer, checkpointer,
 * autovacuum), read from /proc (Linux), and the WAL it wrote (pg_current_wal_lsn() before and
 * after). Cost per task does not depend on how busy the shared machine is the way throughput
 * does, so it shows where a task's cost goes.
 */
import { readdirSync, readFileSync } from "node:fs";

const TICK_MS = 10; // USER_HZ is 100 on Linux

/**
 * The fields of /proc/<pid>/stat after the command name (state is [0], ppid [1], utime [11],
 * stime [12]); null when the process is gone or not visible from here.
 */
export function statFields(pid: number | string): string[] | null {
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

/** The postmaster and its children; [] when the postmaster is unknown (a server on another host). */
export function postgresPids(postmaster: number | null): number[] {
  if (!postmaster) return [];
  const out = [postmaster];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    if (Number(statFields(d)?.[1]) === postmaster) out.push(Number(d)); // null: exited meanwhile
  }
  return out;
}

export interface Usage {
  /** CPU of the worker processes, ms. */
  workersMs: number;
  /** CPU of every Postgres process, ms; null when the server's processes are not visible. */
  postgresMs: number | null;
  /** WAL written, bytes (server-wide). */
  walBytes: number;
  /** Wall time, ms. */
  elapsedMs: number;
}

/** What a meter needs from the server: its postmaster pid and its WAL position. */
export interface Metered {
  postmasterPid: number | null;
  walLsn(): Promise<string>;
  walBytesSince(lsn: string): Promise<number>;
}

/**
 * Starts measuring; the returned function reads what was spent since. Postgres children are
 * re-listed at read time (backends come and go), and a child that appeared meanwhile counts
 * from zero.
 */
export async function startMeter(server: Metered, workerPids: number[]): Promise<() => Promise<Usage>> {
  const lsn = await server.walLsn();
  const pg0 = new Map(postgresPids(server.postmasterPid).map((p) => [p, cpuMs(p)]));
  const w0 = workerPids.map(cpuMs);
  const t0 = performance.now();
  return async () => {
    const elapsedMs = performance.now() - t0;
    let postgresMs: number | null = null;
    if (server.postmasterPid) {
      postgresMs = 0;
      for (const p of postgresPids(server.postmasterPid)) postgresMs += cpuMs(p) - (pg0.get(p) ?? 0);
    }
    const workersMs = workerPids.reduce((a, p, i) => a + cpuMs(p) - w0[i], 0);
    return { workersMs, postgresMs, walBytes: await server.walBytesSince(lsn), elapsedMs };
  };
}

/** Cost per task of a usage: µs of CPU (= ms per 1,000 tasks) and WAL bytes. */
export interface TaskCost {
  workersUs: number;
  postgresUs: number | null;
  walBytes: number;
}

export function perTask(u: Usage, tasks: number): TaskCost {
  const per = (x: number) => Math.round((x * 1000) / Math.max(1, tasks));
  return {
    workersUs: per(u.workersMs),
    postgresUs: u.postgresMs === null ? null : per(u.postgresMs),
    walBytes: Math.round(u.walBytes / Math.max(1, tasks)),
  };
}
