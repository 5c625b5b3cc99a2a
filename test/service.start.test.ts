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
import { startService } from "../src/service.js";
import "../src/plugins.js";
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

/** Handles that keep the process busy, by kind (sockets, timers...). */
function resources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1;
  return counts;
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
    const err = await startService(configFor("start-fails-port", takenPort), { log: createLogger("silent", "t") }).then(
      () => null,
      (e: NodeJS.ErrnoException) => e,
    );
    expect(err?.code).toBe("EADDRINUSE");
    // Everything was stopped before the error reached us: no socket or timer more than before.
    expect(resources()).toEqual(before);
    const row = await tdb.database.db.selectFrom("baton.instances").selectAll().where("id", "=", "start-fails-port").executeTakeFirstOrThrow();
    expect(row.stoppedAt).not.toBeNull();
    expect((await liveInstances(tdb.database.db, 60_000)).map((i) => i.id)).not.toContain("start-fails-port");
  });
});
