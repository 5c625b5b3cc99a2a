/** Starting baton in-process (for most tests) with a test database and a random port. */
import { type Config, loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/log.js";
import { plugins } from "../../src/plugins.js";
import { type Service, startService } from "../../src/service.js";
import { afterAll, beforeAll } from "vitest";
import { createTestDb, type TestDb } from "./db.js";

const live = new Set<string>();
export const liveServices = () => [...live];

export async function startTestService(databaseUrl: string, env: Record<string, string> = {}): Promise<Service> {
  const config: Config = loadConfig({
    DATABASE_URL: databaseUrl,
    PORT: "0",
    HOST: "127.0.0.1",
    HEARTBEAT_INTERVAL_MS: "500",
    INSTANCE_DEAD_AFTER_MS: "3000",
    SHUTDOWN_TIMEOUT_MS: "3000",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    ...env,
  });
  const svc = await startService(config, { plugins, log: createLogger(config.LOG_LEVEL, config.INSTANCE_ID) });
  live.add(svc.config.INSTANCE_ID);
  const stop = svc.stop;
  return {
    ...svc,
    stop: async () => {
      await stop();
      live.delete(svc.config.INSTANCE_ID);
    },
  };
}

/**
 * A fresh test database and an in-process service on it for the calling test file: created in
 * beforeAll, stopped and dropped in afterAll. Read the fields inside tests, not at import time.
 */
export function serviceForFile(env: Record<string, string> = {}): { readonly tdb: TestDb; readonly svc: Service } {
  const held: { tdb?: TestDb; svc?: Service } = {};
  beforeAll(async () => {
    held.tdb = await createTestDb();
    held.svc = await startTestService(held.tdb.url, env);
  });
  afterAll(async () => {
    await held.svc?.stop();
    await held.tdb?.drop();
  });
  return {
    get tdb() {
      if (!held.tdb) throw new Error("serviceForFile: the test database exists only once beforeAll has run");
      return held.tdb;
    },
    get svc() {
      if (!held.svc) throw new Error("serviceForFile: the service exists only once beforeAll has run");
      return held.svc;
    },
  };
}

/** fetch against a service with JSON in and out. */
export async function api(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field in tests
): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {}
  return { status: res.status, body: parsed, headers: res.headers };
}

/** Polls fn until it returns a truthy value or the deadline passes (wait on events, not sleeps). */
export async function waitFor<T>(fn: () => Promise<T> | T, opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${opts.what ?? "condition"} (last: ${String(last)})`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
  }
}
