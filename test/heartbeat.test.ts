/**
 * Heartbeat ticks do not pile up while the database cannot answer them: with the instance's row
 * locked by another session, a beat waits on the lock, and no second beat starts while it waits.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSql } from "../src/db/client.js";
import { Heartbeat } from "../src/instance/heartbeat.js";
import { createLogger } from "../src/log.js";
import { createTestDb, type TestDb } from "./helpers/db.js";
import { waitFor } from "./helpers/service.js";

const INTERVAL_MS = 100;

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(async () => {
  await t.drop();
});

describe("heartbeat", () => {
  it("a beat still waiting on the database keeps the next from starting", async () => {
    const id = "hb-outage";
    const hb = new Heartbeat(
      t.database.db,
      createLogger("silent", id),
      { id, host: "test", port: null, pid: process.pid, version: "test", concurrency: 1 },
      INTERVAL_MS,
    );
    await hb.start();
    const locker = createSql(t.url, 1);
    const observer = createSql(t.url, 1);
    /** Heartbeat statements of this database now waiting on a lock, and the longest wait in ms. */
    const waiting = async () => {
      const [r] = await observer<{ n: number; longest: number | null }[]>`
        select count(*)::int as n, (extract(epoch from max(now() - query_start)) * 1000)::float8 as longest
        from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock' and query ilike '%heartbeat_at%'`;
      return r;
    };
    let release: () => void = () => {};
    const released = new Promise<void>((r) => {
      release = r;
    });
    try {
      // Hold the row lock in a transaction that stays open until the test releases it.
      let locked: () => void = () => {};
      const isLocked = new Promise<void>((r) => {
        locked = r;
      });
      const holder = locker.begin(async (tx) => {
        await tx`select 1 from baton.instances where id = ${id} for update`;
        locked();
        await released;
      });
      await isLocked;

      // Wait until a beat has been blocked for the time of ten intervals: a fixed clock would
      // have started ten more by then.
      const blocked = await waitFor(async () => {
        const w = await waiting();
        return w.longest !== null && w.longest > 10 * INTERVAL_MS ? w : null;
      }, { what: "a heartbeat blocked for ten intervals" });
      expect(blocked?.n).toBe(1);

      const beatAt = async () =>
        (await observer<{ at: Date }[]>`select heartbeat_at as at from baton.instances where id = ${id}`)[0].at.getTime();
      const before = await beatAt();
      release();
      await holder;
      // Beats resume once the database answers again: the blocked one, then the next.
      await waitFor(async () => (await beatAt()) > before, { what: "heartbeats resumed" });
    } finally {
      release();
      await hb.stop();
      await locker.end();
      await observer.end();
    }
    const [row] = await t.database.sql<{ stopped: boolean }[]>`select stopped_at is not null as stopped from baton.instances where id = ${id}`;
    expect(row.stopped).toBe(true);
  });
});
