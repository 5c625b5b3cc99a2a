/**
 * A connection that closes while postgres.js fetches the array types (its first statement on
 * every new connection) must not end the process. kysely runs every query on a reserved
 * connection, and for those postgres.js awaited the type fetch in a promise nobody handled: the
 * close rejected it as an unhandled rejection ("write CONNECTION_CLOSED", the instance exit of
 * the torture terminate test). patches/postgres+3.4.9.patch handles it (porsager/postgres#1192).
 *
 * A TCP proxy in front of the test database closes the first connection that asks for the array
 * types, exactly when pg_terminate_backend would land on a connection still starting up.
 */
import net from "node:net";
import { sql } from "kysely";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createDatabase, type Database } from "../src/db/client.js";
import { createTestDb, type TestDb } from "./helpers/db.js";
import { waitFor } from "./helpers/service.js";

let tdb: TestDb;
let proxy: net.Server;
let database: Database | undefined;
let dropped = 0;
const unhandled: unknown[] = [];
const record = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  tdb = await createTestDb();
  const target = new URL(tdb.url);
  proxy = net.createServer((client) => {
    const server = net.connect(Number(target.port || 5432), target.hostname);
    client.on("data", (d) => {
      if (dropped === 0 && d.includes("typarray")) {
        dropped++;
        client.destroy();
        server.destroy();
        return;
      }
      server.write(d);
    });
    server.on("data", (d) => client.write(d));
    for (const s of [client, server]) {
      s.on("error", () => {});
      s.on("close", () => {
        client.destroy();
        server.destroy();
      });
    }
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
  process.on("unhandledRejection", record);
}, 60_000);

afterAll(async () => {
  process.off("unhandledRejection", record);
  await database?.close();
  await new Promise((r) => proxy?.close(r));
  await tdb?.drop();
});

it("a connection closed during postgres.js's array-type fetch fails no process, and the pool recovers", async () => {
  const url = new URL(tdb.url);
  url.host = `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
  database = createDatabase(url.toString(), 2);
  const db = database.db;
  // the first statement may fail (its connection closed under it); a later one gets through
  await waitFor(
    async () => {
      const r = await sql<{ x: number }>`select 1 as x`.execute(db).catch(() => null);
      return r?.rows[0]?.x === 1;
    },
    { timeoutMs: 30_000, intervalMs: 100, what: "a statement through the pool after the dropped connection" },
  );
  expect(dropped).toBe(1);
  // an unhandled rejection is reported after the microtasks of its turn: let a few turns pass
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 50));
  expect(unhandled.map((e) => String((e as Error)?.message ?? e))).toEqual([]);
}, 60_000);
