/**
 * What the torture run runs on: its own embedded Postgres (own data directory under .data/, a
 * free port, never the machine's server) and two real baton processes on it. Instances are
 * spawned like the suite's multi-process tests do (test/helpers/process.ts); their output goes
 * to test-artifacts/<id>.log, and a restarted instance's earlier log is kept as <id>.<n>.log.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { startEmbeddedPostgres } from "../../src/db/embedded.js";
import { freePort, type Instance, spawnInstance } from "../../test/helpers/process.js";
import { pgCtlPath, restartPostgres, stopPostgres } from "./faults.js";
import { clearHeapDir, heapNodeOptions } from "./heap.js";

const ROOT = path.resolve(import.meta.dirname, "../..");

/** baton's own defaults for liveness, so the kill phase measures the recovery window users get. */
export const INSTANCE_ENV = {
  WORKER_CONCURRENCY: "10",
  HEARTBEAT_INTERVAL_MS: "5000",
  INSTANCE_DEAD_AFTER_MS: "20000",
  SHUTDOWN_TIMEOUT_MS: "5000",
  LOG_LEVEL: "info",
};

/** Heartbeat + dead-after: the longest a crashed instance's task waits before it is taken over. */
export const RECOVERY_WINDOW_MS = Number(INSTANCE_ENV.HEARTBEAT_INTERVAL_MS) + Number(INSTANCE_ENV.INSTANCE_DEAD_AFTER_MS);

/** An instance that exited without the run asking it to: always a defect. */
export interface Crash {
  id: string;
  at: number;
  code: number | null;
  /** the last error line of its log (the fatal one) */
  last: string;
}

/** How long the supervisor waits before starting a crashed instance again. */
const SUPERVISOR_DELAY_MS = 1000;

export class Cluster {
  private readonly instances = new Map<string, Instance | null>();
  private restarts = 0;
  /** each instance's inspector port (127.0.0.1), for its live heap */
  private readonly inspectPorts = new Map<string, number>();
  private stopping = false;
  /** Instances that exited on their own; each was started again, as a supervisor would. */
  readonly crashes: Crash[] = [];

  private constructor(
    readonly url: string,
    readonly database: string,
    readonly dir: string,
    private readonly pgCtl: string,
  ) {}

  /** A fresh Postgres in dir (any earlier data there is removed) and instances with these ids. */
  static async start(dir: string, ids: string[], log: (m: string) => void): Promise<Cluster> {
    const abs = path.resolve(ROOT, dir);
    const pgCtl = await pgCtlPath();
    if (existsSync(path.join(abs, "postmaster.pid"))) await stopPostgres(pgCtl, abs);
    rmSync(abs, { recursive: true, force: true });
    clearHeapDir();
    const port = await freePort();
    const pg = await startEmbeddedPostgres({ dir: abs, port, database: "baton" });
    log(`Postgres in ${dir} on port ${port}`);
    const c = new Cluster(pg.url, "baton", abs, pgCtl);
    // The server outlives a restart by pg_ctl, which the handle does not know of: whatever ends
    // this process stops it through pg_ctl instead.
    process.once("exit", () => c.stopPostgresSync());
    await Promise.all(ids.map((id) => c.spawn(id)));
    return c;
  }

  private async spawn(id: string): Promise<Instance> {
    // the inspector on 127.0.0.1 and SIGUSR2 for the soak's heap readings (heap.ts)
    const inspectPort = await freePort();
    const inst = await spawnInstance(this.url, id, { ...INSTANCE_ENV, NODE_OPTIONS: heapNodeOptions(inspectPort) });
    this.inspectPorts.set(id, inspectPort);
    this.instances.set(id, inst);
    void inst.exited.then(async (code) => {
      // kill() and stop() take the instance out of the map first: anything else is a crash
      if (this.instances.get(id) !== inst || this.stopping) return;
      this.instances.set(id, null);
      this.crashes.push({ id, at: Date.now(), code, last: lastError(id) });
      await new Promise((r) => setTimeout(r, SUPERVISOR_DELAY_MS));
      if (!this.stopping && this.instances.get(id) === null) await this.restart(id).catch(() => {});
    });
    return inst;
  }

  /** Base URLs of the instances that are up. */
  live(): string[] {
    return [...this.instances.values()].filter((i): i is Instance => i !== null).map((i) => i.url);
  }

  /** The instances that are up (for RSS and heap samples). */
  running(): Instance[] {
    return [...this.instances.values()].filter((i): i is Instance => i !== null);
  }

  /** The inspector port of an instance (heap.ts liveHeap). */
  inspectPort(id: string): number | undefined {
    return this.inspectPorts.get(id);
  }

  /** SIGKILL (kill -9) of one instance; it stays down until restart(id). Resolves to its URL. */
  async kill(id: string): Promise<string | undefined> {
    const inst = this.instances.get(id);
    this.instances.set(id, null);
    await inst?.kill();
    return inst?.url;
  }

  /** Starts a killed instance again with the same id, as a supervisor would. */
  async restart(id: string): Promise<void> {
    const log = path.join(ROOT, "test-artifacts", `${id}.log`);
    if (existsSync(log)) renameSync(log, path.join(ROOT, "test-artifacts", `${id}.${++this.restarts}.log`));
    await this.spawn(id);
  }

  /** pg_ctl restart -m immediate under the running instances. */
  restartPostgres(): Promise<void> {
    return restartPostgres(this.pgCtl, this.dir);
  }

  /** SIGTERM to every instance (their drain), then the server. Resolves to the exit codes. */
  async stop(): Promise<(number | null)[]> {
    this.stopping = true;
    const codes = await Promise.all(this.running().map((i) => i.stop()));
    await stopPostgres(this.pgCtl, this.dir);
    return codes;
  }

  private stopPostgresSync(): void {
    if (!existsSync(path.join(this.dir, "postmaster.pid"))) return;
    const { uid, gid } = statSync(this.dir);
    try {
      execFileSync(this.pgCtl, ["stop", "-D", this.dir, "-m", "immediate", "-w", "-t", "30"], { uid, gid, stdio: "ignore" });
    } catch {}
  }
}

/** The last error-level line of an instance's log: what it died of. */
function lastError(id: string): string {
  try {
    const lines = readFileSync(path.join(ROOT, "test-artifacts", `${id}.log`), "utf8").split("\n");
    const fatal = lines.filter((l) => /"level":(50|60)/.test(l)).at(-1) ?? lines.filter(Boolean).at(-1) ?? "";
    const entry = JSON.parse(fatal) as { msg?: string; err?: { message?: string } };
    return `${entry.msg ?? ""}${entry.err?.message ? `: ${entry.err.message}` : ""}`;
  } catch {
    return "(no log)";
  }
}

/** Resident set size of a process in bytes (Linux /proc), or NaN. */
export function rssBytes(pid: number | undefined): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Memory of an instance as its /metrics reports it (prom-client's default process metrics). */
export interface InstanceMemory {
  /** V8 heap in use */
  heapUsed: number;
  /** V8 heap committed (what the heap holds of the RSS) */
  heapTotal: number;
  /** memory of C++ objects bound to JavaScript ones: Buffers, ArrayBuffers */
  external: number;
}

export async function instanceMemory(url: string): Promise<InstanceMemory> {
  const none = { heapUsed: Number.NaN, heapTotal: Number.NaN, external: Number.NaN };
  try {
    const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    const read = (name: string) => {
      const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, "m").exec(text);
      return m ? Number(m[1]) : Number.NaN;
    };
    return { heapUsed: read("nodejs_heap_size_used_bytes"), heapTotal: read("nodejs_heap_size_total_bytes"), external: read("nodejs_external_memory_bytes") };
  } catch {
    return none;
  }
}
