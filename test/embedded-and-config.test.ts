/**
 * The zero-configuration path: with no DATABASE_URL a real process starts embedded Postgres,
 * serves /health, runs a task, and on SIGTERM (or a terminal's Ctrl-C, which signals the whole
 * process group) drains its worker, marks itself stopped, and only then stops Postgres and exits 0.
 * A start that fails after Postgres came up leaves no Postgres behind. And a bad environment stops
 * start with a message naming the variable.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.js";
import { createSql } from "../src/db/client.js";
import { startEmbeddedPostgres } from "../src/db/embedded.js";
import { freePort } from "./helpers/process.js";
import { api, waitFor } from "./helpers/service.js";

const ROOT = path.resolve(import.meta.dirname, "..");

/** The postmaster named by dir/postmaster.pid, if it is alive. */
function postmaster(dir: string): number | null {
  const file = path.join(ROOT, dir, "postmaster.pid");
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, "utf8").split("\n")[0]);
  if (!(pid > 0)) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Baton {
  proc: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

const started: { proc: ChildProcess; dir: string }[] = [];

/**
 * baton as a terminal runs it: `node src/main.ts` leading its own process group, so the test can
 * signal the group the way Ctrl-C does. Output goes to test-artifacts/<name>.log.
 */
function startBaton(name: string, dir: string, env: Record<string, string>): Baton {
  mkdirSync(path.join(ROOT, "test-artifacts"), { recursive: true });
  const log = createWriteStream(path.join(ROOT, "test-artifacts", `${name}.log`));
  const proc = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, HOST: "127.0.0.1", INSTANCE_ID: name, EMBEDDED_PG_DIR: dir, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  started.push({ proc, dir });
  let out = "";
  for (const s of [proc.stdout, proc.stderr]) {
    s?.on("data", (d) => {
      out += d;
      log.write(d);
    });
  }
  const exited = new Promise<number | null>((r) => proc.on("exit", (code) => r(code)));
  return { proc, url: `http://127.0.0.1:${env.PORT}`, output: () => out, exited };
}

afterEach(async () => {
  // A failed assertion must not leave a baton or its Postgres running.
  for (const { proc, dir } of started.splice(0)) {
    if (proc.exitCode === null && proc.signalCode === null) process.kill(-(proc.pid as number), "SIGKILL");
    const pid = postmaster(dir);
    if (pid) process.kill(pid, "SIGINT");
    await waitFor(() => !postmaster(dir), { timeoutMs: 20_000, what: `postmaster of ${dir} gone` });
    rmSync(path.join(ROOT, dir), { recursive: true, force: true });
  }
});

/**
 * Runs a task that is still running when the signal comes, and checks the order of the shutdown:
 * the worker finished the task and the instance was marked stopped (both need Postgres), then
 * Postgres stopped, then baton exited 0.
 */
async function drainOnSignal(name: string, signal: (b: Baton) => void): Promise<void> {
  const dir = `.data/test-${name}-${process.pid}`;
  const pgPort = await freePort();
  const b = startBaton(name, dir, { EMBEDDED_PG_PORT: String(pgPort), PORT: String(await freePort()), SHUTDOWN_TIMEOUT_MS: "20000" });
  await waitFor(async () => (await fetch(`${b.url}/health`).catch(() => null))?.ok, { timeoutMs: 60_000, what: `${name} /health` });
  const server = postmaster(dir);
  expect(server).not.toBeNull();

  const t = await api(b.url, "POST", "/api/tasks", { type: "simulate", payload: { durationMs: 1500 } });
  expect(t.status).toBe(201);
  await waitFor(async () => (await api(b.url, "GET", `/api/tasks/${t.body.id}`)).body.status === "processing");
  expect((await api(b.url, "GET", "/ready")).status).toBe(200);
  signal(b);
  expect(await b.exited).toBe(0);
  expect(alive(server as number)).toBe(false);

  // Look at what the drain recorded: start the same cluster again from the test.
  const pg = await startEmbeddedPostgres({ dir, port: pgPort });
  const sql = createSql(pg.url, 1);
  try {
    const [task] = await sql<{ status: string }[]>`select status from baton.tasks where id = ${t.body.id}`;
    expect(task.status).toBe("completed");
    const [inst] = await sql<{ stopped: boolean }[]>`select stopped_at is not null as stopped from baton.instances where id = ${name}`;
    expect(inst.stopped).toBe(true);
  } finally {
    await sql.end();
    await pg.stop();
  }
}

describe("embedded Postgres", () => {
  it("SIGTERM: baton drains its worker, marks itself stopped, then stops its Postgres and exits 0", async () => {
    await drainOnSignal("embedded-term", (b) => b.proc.kill("SIGTERM"));
  });

  it("Ctrl-C (SIGINT to the whole process group): Postgres is not stopped under the draining worker", async () => {
    await drainOnSignal("embedded-ctrlc", (b) => process.kill(-(b.proc.pid as number), "SIGINT"));
  });

  it("a start that fails after Postgres came up leaves no Postgres running", async () => {
    const dir = `.data/test-embedded-fail-${process.pid}`;
    // PORT is taken: the HTTP listen, the last start step, fails.
    const taken = net.createServer();
    const port = await new Promise<number>((r) => taken.listen(0, "127.0.0.1", () => r((taken.address() as net.AddressInfo).port)));
    try {
      const b = startBaton("embedded-fail", dir, { EMBEDDED_PG_PORT: String(await freePort()), PORT: String(port) });
      expect(await b.exited).not.toBe(0);
      expect(b.output()).toContain("embedded Postgres ready");
      expect(existsSync(path.join(ROOT, dir, "PG_VERSION"))).toBe(true);
      await waitFor(() => !postmaster(dir), { timeoutMs: 20_000, what: "the embedded Postgres of the failed start gone" });
    } finally {
      taken.close();
    }
  });
});

describe("configuration", () => {
  it("names every bad variable", () => {
    let err: unknown;
    try {
      loadConfig({ PORT: "http", WORKER_CONCURRENCY: "0", DATABASE_URL: "mysql://x", API_KEY_HASHES: "abc", LOG_LEVEL: "loud" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    for (const v of ["PORT", "WORKER_CONCURRENCY", "DATABASE_URL", "API_KEY_HASHES", "LOG_LEVEL"]) expect(msg).toContain(v);
  });

  it("applies documented defaults", () => {
    const c = loadConfig({});
    expect(c.PORT).toBe(3000);
    expect(c.WORKER_CONCURRENCY).toBe(10);
    expect(c.HOST).toBe("127.0.0.1");
    expect(c.INSTANCE_ID).toMatch(/^baton-[0-9a-f]{8}$/);
  });

  it("a process with a bad value exits 1 with a message naming it", async () => {
    const proc = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, WORKER_CONCURRENCY: "many" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let err = "";
    proc.stderr.on("data", (d) => {
      err += d;
    });
    const code = await new Promise<number | null>((r) => proc.on("exit", r));
    expect(code).toBe(1);
    expect(err).toContain("WORKER_CONCURRENCY");
  });
});
