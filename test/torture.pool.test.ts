/**
 * The torture run's "pool exhaustion" phase, 10 s long, as a suite test. It runs its own
 * Postgres (embedded, own data directory and port), since another client takes every connection
 * slot but 3 of max_connections, which on a shared server would starve everyone else. Two real
 * instances under the mixed load ride it out: afterwards every acknowledged task reaches a
 * terminal status and none has more than one succeeded outcome row, read from the database.
 */
import { rmSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type EmbeddedHandle, startEmbeddedPostgres } from "../src/db/embedded.js";
import { exhaustConnections, harnessSql, type Sql } from "../scripts/torture/faults.js";
import { Load } from "../scripts/torture/load.js";
import { lost, verdict } from "../scripts/torture/measure.js";
import { freePort, type Instance, spawnInstance } from "./helpers/process.js";
import { waitFor } from "./helpers/service.js";

const DIR = `.data/torture-pool-pg-${process.pid}`;
const HOLD_MS = 10_000;
const ENV = { WORKER_CONCURRENCY: "4", PRUNE_INTERVAL_MS: "0", SHUTDOWN_TIMEOUT_MS: "3000" };

let pg: EmbeddedHandle | undefined;
let sql: Sql;
let a: Instance | undefined;
let b: Instance | undefined;

beforeAll(async () => {
  rmSync(DIR, { recursive: true, force: true });
  pg = await startEmbeddedPostgres({ dir: DIR, port: await freePort(), database: "baton" });
  sql = harnessSql(pg.url, { max: 1 });
  [a, b] = await Promise.all([spawnInstance(pg.url, `torture-pool-a-${process.pid}`, ENV), spawnInstance(pg.url, `torture-pool-b-${process.pid}`, ENV)]);
}, 180_000);

afterAll(async () => {
  await Promise.all([a?.kill(), b?.kill()]);
  await sql?.end({ timeout: 5 });
  await pg?.stop();
  rmSync(DIR, { recursive: true, force: true });
});

it("a client holding all but 3 connection slots for 10 s loses no task and runs none twice", async () => {
  const load = new Load(() => [a!.url, b!.url]);
  load.start(20);
  try {
    await waitFor(() => load.acks.length >= 40, { timeoutMs: 60_000, what: "40 tasks acknowledged before the fault" });
    const hog = await exhaustConnections(pg!.url, 3);
    try {
      // the hog got (nearly) every slot it wanted: the fault really happened. The instances keep
      // opening connections while the hog counts and takes the free ones (their pools grow on
      // demand), so a few of the slots it counted may be gone by the time it asks for them.
      expect(hog.held).toBeGreaterThan(hog.wanted - 30);
      expect(hog.held).toBeGreaterThan(200);
      await sleep(HOLD_MS);
    } finally {
      await hog.release();
    }
    const before = load.acks.length;
    await waitFor(() => load.acks.length >= before + 40, { timeoutMs: 60_000, what: "40 more tasks acknowledged after the fault" });
  } finally {
    await load.stop();
  }
  const ids = load.acks.map((x) => x.id);
  await waitFor(async () => lost(await verdict(sql, ids)).length === 0, { timeoutMs: 90_000, intervalMs: 500, what: "every acknowledged task terminal" }).catch(
    () => {},
  );
  const v = await verdict(sql, ids);
  expect(v.gone).toEqual([]);
  expect(v.open).toEqual([]);
  expect(v.duplicated).toEqual([]);
  expect(v.completed + v.failed).toBe(ids.length);
  // every non-2xx answer meanwhile was a problem+json 503 or 429
  const bad = load.answers.filter((x) => x.status !== 0 && x.status >= 300 && !/^(503|429) problem\+json/.test(x.kind ?? ""));
  expect(bad).toEqual([]);
});
