/**
 * Two real baton processes on two ports against one database share 1,000 tasks safely
 * (test/helpers/shared-drain.ts says what is checked).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDb, type TestDb } from "./helpers/db.js";
import { type Instance, spawnInstance } from "./helpers/process.js";
import { expectSharedDrain } from "./helpers/shared-drain.js";

let tdb: TestDb;
let a: Instance;
let b: Instance;

beforeAll(async () => {
  tdb = await createTestDb();
  [a, b] = await Promise.all([
    spawnInstance(tdb.url, "multi-a", { WORKER_CONCURRENCY: "8" }),
    spawnInstance(tdb.url, "multi-b", { WORKER_CONCURRENCY: "8" }),
  ]);
});
afterAll(async () => {
  const codes = await Promise.all([a?.stop(), b?.stop()]);
  await tdb?.drop();
  expect(codes).toEqual([0, 0]);
});

it("1,000 simulate tasks created through either port all complete, once each, on both instances", async () => {
  await expectSharedDrain(a, b, tdb.database.db, { timeoutMs: 120_000 });
});
