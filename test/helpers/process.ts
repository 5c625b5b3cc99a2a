/**
 * Real baton processes on real ports, for multi-instance tests: `node --import tsx src/main.ts`
 * with its own environment. Output goes to test-artifacts/<name>.log for post-mortems.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { waitFor } from "./service.js";

export interface Instance {
  id: string;
  port: number;
  url: string;
  proc: ChildProcess;
  /** SIGTERM and wait for exit; resolves to the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL (kill -9) and wait for exit. */
  kill(): Promise<void>;
  exited: Promise<number | null>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

const ROOT = path.resolve(import.meta.dirname, "../..");

/** Spawns a baton process on a free port and resolves once it answers /health. */
export async function spawnInstance(databaseUrl: string, id: string, env: Record<string, string> = {}): Promise<Instance> {
  const port = await freePort();
  mkdirSync(path.join(ROOT, "test-artifacts"), { recursive: true });
  const out = createWriteStream(path.join(ROOT, "test-artifacts", `${id}.log`));
  const proc = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      HOST: "127.0.0.1",
      INSTANCE_ID: id,
      LOG_LEVEL: "info",
      HEARTBEAT_INTERVAL_MS: "500",
      INSTANCE_DEAD_AFTER_MS: "3000",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  proc.stdout?.pipe(out);
  proc.stderr?.pipe(out);
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  let dead = false;
  exited.then(() => {
    dead = true;
  });
  // An instance that exits while starting fails the wait at once (waitFor retries on errors, so
  // throwing inside it would only fail after the whole timeout).
  let up = false;
  const exitedEarly = exited.then((code) => {
    if (!up) throw new Error(`instance ${id} exited with code ${code} during start; see test-artifacts/${id}.log`);
  });
  await Promise.race([
    waitFor(async () => dead || (await fetch(`${url}/health`).catch(() => null))?.ok, { timeoutMs: 60_000, what: `${id} /health` }),
    exitedEarly,
  ]);
  up = true;
  return {
    id,
    port,
    url,
    proc,
    exited,
    stop: async () => {
      if (!dead) proc.kill("SIGTERM");
      return exited;
    },
    kill: async () => {
      if (!dead) proc.kill("SIGKILL");
      await exited;
    },
  };
}
