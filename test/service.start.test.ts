/**
 * startService cleans up after itself: a start that fails at a late step stops everything it had
 * started (worker pool, components, heartbeat, database pool), newest first, leaves its instance
 * row stopped, and throws the error that made it fail.
 */
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { liveInstances } from "../src/db/queries/instances.js";
import { createLogger } from "../src/log.js";
import { plugins } from "../src/plugins.js";
import { type Component, type Plugin, startService } from "../src/service.js";
import { createTestDb, type TestDb } from "./helpers/db.js";

let tdb: TestDb;
let blocker: net.Server;
let takenPort: number;

beforeAll(async () => {
  tdb = await createTestDb();
  blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
  takenPort = (blocker.address() as net.AddressInfo).port;
});
afterAll(async () => {
  await new Promise((r) => blocker?.close(r));
  await tdb?.drop();
});

/**
 * Handles that keep the process busy, by kind (sockets, timers...). A socket whose end this
 * process has already sent is closing, not leaked (the server's FIN may arrive a moment after
 * sql.end() resolves), so it is not counted.
 */
function resources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1;
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  const closing = handles.filter((h) => h instanceof net.Socket && (h.writableEnded || h.destroyed)).length;
  if (closing) counts.TCPSocketWrap -= closing;
  return counts;
}

/** No kind of handle has more open than before (one opened earlier may have closed meanwhile). */
function expectNoneLeaked(before: Record<string, number>): void {
  const now = resources();
  const grown = Object.fromEntries(Object.entries(now).filter(([k, n]) => n > (before[k] ?? 0)));
  expect(grown, `handles open before: ${JSON.stringify(before)}`).toEqual({});
}

function configFor(instanceId: string, port: number) {
  return loadConfig({
    DATABASE_URL: tdb.url,
    PORT: String(port),
    HOST: "127.0.0.1",
    INSTANCE_ID: instanceId,
    HEARTBEAT_INTERVAL_MS: "200",
    INSTANCE_DEAD_AFTER_MS: "3000",
    SHUTDOWN_TIMEOUT_MS: "1000",
  });
}

describe("startService when a late step fails", () => {
  it("a port already taken: throws EADDRINUSE, closes the pool and timers, marks the instance stopped", async () => {
    const before = resources();
    const err = await startService(configFor("start-fails-port", takenPort), { plugins, log: createLogger("silent", "t") }).then(
      () => null,
      (e: NodeJS.ErrnoException) => e,
    );
    expect(err?.code).toBe("EADDRINUSE");
    // Everything was stopped before the error reached us: no socket or timer more than before.
    expectNoneLeaked(before);
    const row = await tdb.database.db.selectFrom("baton.instances").selectAll().where("id", "=", "start-fails-port").executeTakeFirstOrThrow();
    expect(row.stoppedAt).not.toBeNull();
    expect((await liveInstances(tdb.database.db, 60_000)).map((i) => i.id)).not.toContain("start-fails-port");
  });

  it("a component that cannot start: the ones before it stop, newest first, and its own error is thrown", async () => {
    const events: string[] = [];
    const boom = new Error("cannot start");
    const part = (name: string, fails = false): Component => ({
      name,
      start: async () => {
        events.push(`start ${name}`);
        if (fails) throw boom;
      },
      stop: async () => {
        events.push(`stop ${name}`);
      },
    });
    const probe: Plugin = { name: "probe", setup: () => ({ components: [part("a"), part("b"), part("c", true), part("d")] }) };
    const before = resources();
    const err = await startService(configFor("start-fails-component", 0), { plugins: [...plugins, probe], log: createLogger("silent", "t") }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBe(boom);
    // c failed halfway, so it is stopped too (whatever it opened before throwing is closed); d never started.
    expect(events).toEqual(["start a", "start b", "start c", "stop c", "stop b", "stop a"]);
    expectNoneLeaked(before);
    const row = await tdb.database.db.selectFrom("baton.instances").selectAll().where("id", "=", "start-fails-component").executeTakeFirstOrThrow();
    expect(row.stoppedAt).not.toBeNull();
  });
});
