/**
 * The zero-configuration path: with no DATABASE_URL a real process starts embedded Postgres, serves
 * /health, runs a task, and on SIGTERM stops Postgres and exits 0. And a bad environment stops
 * start with a message naming the variable.
 */
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.js";
import { freePort, spawnInstance } from "./helpers/process.js";
import { api, waitFor } from "./helpers/service.js";

const ROOT = path.resolve(import.meta.dirname, "..");

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.on("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

describe("embedded Postgres", () => {
  it("starts without DATABASE_URL, runs a task, and stops its Postgres on SIGTERM", async () => {
    const dir = `.data/test-embedded-${process.pid}`;
    const pgPort = await freePort();
    try {
      const inst = await spawnInstance("", "embedded-1", { EMBEDDED_PG_DIR: dir, EMBEDDED_PG_PORT: String(pgPort) });
      expect(await portOpen(pgPort)).toBe(true);
      const t = await api(inst.url, "POST", "/api/tasks", { type: "noop" });
      expect(t.status).toBe(201);
      await waitFor(async () => (await api(inst.url, "GET", `/api/tasks/${t.body.id}`)).body.status === "completed");
      expect((await api(inst.url, "GET", "/ready")).status).toBe(200);
      expect(await inst.stop()).toBe(0);
      await waitFor(async () => !(await portOpen(pgPort)), { timeoutMs: 10_000, what: "embedded Postgres stopped" });
    } finally {
      rmSync(path.join(ROOT, dir), { recursive: true, force: true });
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
