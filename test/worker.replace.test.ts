/**
 * graphile-worker 0.18 shuts its pool down on its own when a job completion fails, and baton
 * starts a new one (src/worker/pool.ts). A new runner claims jobs from the moment run() resolves,
 * so a failure after that point (recording its pool id on the instance row) must not make the
 * replacement start yet another runner: the first would keep claiming unsupervised, and once it
 * shut down in turn nobody would release its jobs, leaving their tasks pending for the 4-hour lock
 * timeout. The suite's terminate test met it by chance; here a trigger refuses the record while
 * the pool is replaced, and exactly one runner (one graphile-worker LISTEN connection) may be
 * alive afterwards, and every task completes once the record is allowed again and the runner is
 * made to fail once more.
 */
import { expect, it } from "vitest";
import { api, serviceForFile, waitFor } from "./helpers/service.js";

const ctx = serviceForFile({ WORKER_CONCURRENCY: "2", JOBS_COMPACT_INTERVAL_MS: "0" });
/** The test database's pool (the service and its database exist once beforeAll has run). */
const db = () => ctx.tdb.database.sql;

/** graphile-worker runners alive on the database: each holds one LISTEN connection. */
const runners = async () =>
  (
    await db()<{ n: number }[]>`
      select count(*)::int as n from pg_stat_activity
      where datname = current_database() and query like 'LISTEN "jobs:insert"%'`
  )[0].n;

const poolIds = async () => (await db()<{ id: string }[]>`select distinct locked_by as id from graphile_worker._private_jobs where locked_by is not null`).map((r) => r.id);

/**
 * Makes the running pool fail a job completion, the path where graphile-worker shuts it down on
 * its own: row locks on its claimed jobs hold the completion, then its connections are killed.
 */
async function failTheRunner(): Promise<void> {
  for (let i = 0; i < 4; i++) expect((await api(ctx.svc.url, "POST", "/api/tasks", { type: "simulate", payload: { durationMs: 300 } })).status).toBe(201);
  await waitFor(async () => (await poolIds()).length > 0, { timeoutMs: 10_000, what: "claimed jobs" });
  const holder = await db().reserve();
  try {
    await holder`begin`;
    await holder`select id from graphile_worker._private_jobs where locked_at is not null for update`;
    await waitFor(
      async () =>
        (await db()<{ n: number }[]>`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`)[0].n > 0,
      { timeoutMs: 10_000, intervalMs: 20, what: "a job completion waiting on its row lock" },
    );
    await db()`
      select pg_terminate_backend(pid) from pg_stat_activity
      where datname = current_database() and pid <> pg_backend_pid() and coalesce(application_name, '') = ''
        and backend_type = 'client backend'`;
  } finally {
    await holder`commit`.catch(() => {});
    holder.release();
  }
}

it("a pool replaced while its id cannot be recorded leaves one runner, and no task behind", async () => {
  expect(await runners()).toBe(1);
  await db()`create function public.baton_test_refuse() returns trigger language plpgsql as $$
    begin raise exception 'the test refuses to record a worker pool'; end $$`;
  await db()`create trigger baton_test_refuse before update of worker_pool_id on baton.instances
    for each row execute function public.baton_test_refuse()`;
  const before = ctx.svc.worker!.poolId;
  await failTheRunner();
  // the replacement runs (a new pool id) while its record keeps failing
  await waitFor(() => ctx.svc.worker!.poolId !== before && ctx.svc.worker!.poolId !== null, { timeoutMs: 20_000, what: "a new pool" });
  await new Promise((r) => setTimeout(r, 3000)); // several record attempts
  expect(await runners()).toBe(1);

  await db()`drop trigger baton_test_refuse on baton.instances`;
  await waitFor(async () => (await db()<{ p: string | null }[]>`select worker_pool_id as p from baton.instances where id = ${ctx.svc.config.INSTANCE_ID}`)[0].p === ctx.svc.worker!.poolId, {
    timeoutMs: 10_000,
    what: "the new pool recorded",
  });
  // the runner fails once more: whatever was claimed must be released and run
  await failTheRunner();
  await waitFor(async () => (await runners()) === 1, { timeoutMs: 20_000, what: "one runner again" });
  await waitFor(
    async () => (await db()<{ n: number }[]>`select count(*)::int as n from baton.tasks where status not in ('completed', 'failed', 'canceled')`)[0].n === 0,
    { timeoutMs: 30_000, intervalMs: 250, what: "every task finished" },
  );
  const [{ failed }] = await db()<{ failed: number }[]>`select count(*) filter (where status <> 'completed')::int as failed from baton.tasks`;
  expect(failed).toBe(0);
});
