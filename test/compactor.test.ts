/**
 * Jobs-table compaction (src/retention/compactor.ts) on a real Postgres: a transaction holding
 * the xmin horizon while jobs are inserted and deleted leaves graphile-worker's jobs table many
 * times its steady size, and plain VACUUM (what autovacuum does) does not give the space back.
 * The compactor leaves it alone while the horizon is held and while another session holds a lock
 * on the table, then rewrites it to within 2× of its steady size, keeping every live job; a table
 * at its steady size under churn is not rewritten.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Sql } from "../src/db/client.js";
import { createLogger } from "../src/log.js";
import { Compactor } from "../src/retention/compactor.js";
import { createTestDb, type TestDb } from "./helpers/db.js";

let tdb: TestDb;
let sql: Sql;

beforeAll(async () => {
  tdb = await createTestDb();
  sql = tdb.database.sql;
});
afterAll(async () => {
  await tdb?.drop();
});

const size = async () => (await sql<{ n: number }[]>`select pg_total_relation_size('graphile_worker._private_jobs')::bigint as n`)[0].n;
const filenode = async () => (await sql<{ n: number }[]>`select relfilenode::bigint as n from pg_class where oid = 'graphile_worker._private_jobs'::regclass`)[0].n;
const liveIds = async () => (await sql<{ id: number }[]>`select id from graphile_worker._private_jobs order by id`).map((r) => r.id);

/** Inserts and deletes `n` jobs, `rounds` times, on one connection, and flushes its statistics. */
async function churn(rounds: number, n = 5000): Promise<void> {
  const conn = await sql.reserve();
  try {
    for (let i = 0; i < rounds; i++) {
      await conn`
        select graphile_worker.add_jobs(array(
          select row('compactor:churn', json_build_object('i', g, 'pad', repeat('x', 100)), null, now() + interval '1 day', null, null, null, null)::graphile_worker.job_spec
          from generate_series(1, ${n}::int) g))`;
      await conn`delete from graphile_worker._private_jobs j using graphile_worker._private_tasks t where t.id = j.task_id and t.identifier = 'compactor:churn'`;
    }
    await conn`select pg_stat_force_next_flush()`;
  } finally {
    conn.release();
  }
}

it("rewrites the jobs table bloated behind a held horizon to within 2× of its steady size, and only then", async () => {
  const compactor = new Compactor(tdb.database, createLogger("silent", "compactor-test"), { intervalMs: 0, horizonMs: 1000 });
  // live jobs that must survive every rewrite (run_at tomorrow: nothing claims them)
  await sql`select graphile_worker.add_jobs(array(
    select row('compactor:live', json_build_object('n', g), null, now() + interval '1 day', null, null, null, null)::graphile_worker.job_spec
    from generate_series(1, 50) g))`;
  const live = await liveIds();
  expect(live).toHaveLength(50);

  // the steady state: rounds of churn with vacuum between them, as autovacuum keeps up
  for (let i = 0; i < 3; i++) {
    await churn(1);
    await sql`vacuum graphile_worker._private_jobs`;
  }
  const steady = await size();
  expect((await compactor.runOnce()).compacted).toBe(false); // the first look only counts inserts
  await churn(1);
  await sql`vacuum graphile_worker._private_jobs`;
  const steadyLook = await compactor.runOnce();
  expect(steady).toBeGreaterThan(1024 * 1024); // above the size below which nothing is rewritten
  expect(steadyLook).toMatchObject({ compacted: false, reason: "not bloated" });

  // a forgotten transaction holds the horizon while the queue churns
  const holder = await sql.reserve();
  await holder`begin isolation level repeatable read`;
  await holder`select count(*) from baton.tasks`;
  await churn(10);
  await sql`vacuum graphile_worker._private_jobs`;
  await new Promise((r) => setTimeout(r, 1200));
  const held = await compactor.runOnce();
  expect(held).toMatchObject({ compacted: false, reason: "horizon held" });
  await holder`commit`;
  holder.release();

  // vacuum can run again, and does, but the file keeps its size
  await sql`vacuum graphile_worker._private_jobs`;
  const bloated = await size();
  expect(bloated).toBeGreaterThan(4 * steady);
  const node = await filenode();

  // another session's lock on the table: the rewrite gives up after its lock timeout
  const locker = await sql.reserve();
  await locker`begin`;
  await locker`lock table graphile_worker._private_jobs in row exclusive mode`;
  expect(await compactor.runOnce()).toMatchObject({ compacted: false, reason: "lock timeout" });
  await locker`commit`;
  locker.release();
  expect(await filenode()).toBe(node);
  // the next look waits for vacuum to have run since the last one, as autovacuum does each minute
  expect(await compactor.runOnce()).toMatchObject({ compacted: false, reason: "no vacuum since" });
  await sql`vacuum graphile_worker._private_jobs`;

  const done = await compactor.runOnce();
  expect(done).toMatchObject({ compacted: true, live: 50 });
  expect((done as { bytesBefore: number }).bytesBefore).toBeGreaterThan(4 * steady);
  expect(await filenode()).not.toBe(node);
  const after = await size();
  expect(after).toBeLessThanOrEqual(2 * steady);
  expect(await liveIds()).toEqual(live);
  console.log(`[compactor] steady ${steady} B, bloated ${bloated} B (${(bloated / steady).toFixed(1)}×), after ${after} B in ${(done as { ms: number }).ms} ms`);

  // back at work: the table regrows to its steady size and is left alone
  for (let i = 0; i < 2; i++) {
    await churn(1);
    await sql`vacuum graphile_worker._private_jobs`;
  }
  const node2 = await filenode();
  expect(await compactor.runOnce()).toMatchObject({ compacted: false, reason: "not bloated" });
  expect(await filenode()).toBe(node2);
  expect(await liveIds()).toEqual(live);
});
