/**
 * ctx.progress (DESIGN.md "Progress"): a percent outside 0–100 (or NaN) is a handler error that
 * fails the attempt with its message; writes are throttled to one a second per task however often
 * a handler reports, and the last value always lands before the outcome; the value shows on
 * GET /api/tasks/{id} while the task runs and after, and in SQL; a new attempt starts without the
 * last attempt's value; simulate reports progress.
 *
 * Writes are counted by a trigger on baton.tasks in this file's database (every UPDATE that
 * changes the progress column), not by timing.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { registerTaskType } from "../src/worker/registry.js";
import { api, serviceForFile, waitFor } from "./helpers/service.js";

let release: (() => void) | null = null;
/** The task row's progress as each attempt of "fail-then-hold" was claimed. */
const progressAtClaim: unknown[] = [];

registerTaskType({
  name: "test.progress",
  description: "Test only: reports progress as its payload says.",
  params: z.object({
    mode: z.enum(["burst", "bad", "nan", "hold", "fail-then-hold"]),
    bad: z.number().optional(),
  }),
  handler: async (p, ctx) => {
    if (p.mode === "bad") await ctx.progress(p.bad ?? 150);
    if (p.mode === "nan") await ctx.progress(Number.NaN);
    if (p.mode === "burst") {
      // 50 reports in about 200 ms, not awaited (as a busy loop would report)
      for (let i = 1; i <= 50; i++) {
        void ctx.progress(i * 2, i === 50 ? "last" : `step ${i}`);
        await sleep(4);
      }
    }
    if (p.mode === "fail-then-hold") progressAtClaim.push(ctx.task.progress);
    if (p.mode === "fail-then-hold" && ctx.attempt === 1) {
      await ctx.progress(80, "first attempt");
      throw new Error("first attempt fails");
    }
    if (p.mode === "hold" || p.mode === "fail-then-hold") {
      await ctx.progress(30, "working");
      await new Promise<void>((r) => {
        release = r;
      });
    }
    return { mode: p.mode };
  },
});

const s = serviceForFile({ WORKER_CONCURRENCY: "4" });
const url = () => s.svc.url;
const sql = () => s.tdb.database.sql;

beforeAll(async () => {
  await sql()`create table public.progress_writes (task_id bigint not null, progress jsonb)`;
  await sql()`
    create function public.count_progress() returns trigger language plpgsql as $$
    begin
      insert into public.progress_writes values (new.id, new.progress);
      return null;
    end $$`;
  await sql()`
    create trigger count_progress after update of progress on baton.tasks
    for each row when (old.progress is distinct from new.progress and new.progress is not null)
    execute function public.count_progress()`;
});

async function create(payload: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<number> {
  const r = await api(url(), "POST", "/api/tasks", { type: "test.progress", payload, ...extra });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.id;
}
const task = async (id: number) =>
  (await sql()<{ status: string; progress: { percent: number; message: string | null; at: string } | null; last_error: string | null; attempts: number }[]>`
    select status, progress, last_error, attempts from baton.tasks where id = ${id}`)[0];
const until = (id: number, status: string) => waitFor(async () => (await task(id)).status === status, { what: `task ${id} ${status}` });
const writes = async (id: number) => (await sql()<{ n: number }[]>`select count(*)::int as n from public.progress_writes where task_id = ${id}`)[0].n;

describe("bad values are a handler error", () => {
  for (const [what, payload, shown] of [
    ["150", { mode: "bad", bad: 150 }, "150"],
    ["-1", { mode: "bad", bad: -1 }, "-1"],
    ["NaN", { mode: "nan" }, "NaN"],
  ] as const) {
    it(`ctx.progress(${what}) fails the attempt with the message, and stores nothing`, async () => {
      const id = await create(payload, { maxAttempts: 1 });
      await until(id, "failed");
      const t = await task(id);
      expect(t.last_error).toContain(`ctx.progress: percent must be a number from 0 to 100 (got ${shown})`);
      expect(t.progress).toBeNull();
      expect(await writes(id)).toBe(0);
      const logs = await sql()<{ event: string; message: string }[]>`select event, message from baton.task_logs where task_id = ${id}`;
      expect(logs).toEqual([{ event: "failed", message: expect.stringContaining("ctx.progress: percent must be") }]);
    });
  }
});

describe("throttling and the last value", () => {
  it("50 reports in 200 ms leave at most 3 writes, and the last report is the stored value after completion", async () => {
    const id = await create({ mode: "burst" });
    await until(id, "completed");
    const n = await writes(id);
    // the first report is written at once, the last one before the outcome; the rest wait for a
    // slot that comes only after 1 s (one more write if the run took that long)
    expect(n).toBeGreaterThanOrEqual(1);
    expect(n).toBeLessThanOrEqual(3);
    const t = await task(id);
    expect(t.progress).toMatchObject({ percent: 100, message: "last" });
    const [{ last }] = await sql()<{ last: { percent: number } }[]>`
      select progress as last from public.progress_writes where task_id = ${id} order by ctid desc limit 1`;
    expect(last.percent).toBe(100);
    // SQL: a DBA reads the column
    const [{ percent, message }] = await sql()<{ percent: string; message: string }[]>`
      select progress->>'percent' as percent, progress->>'message' as message from baton.tasks where id = ${id}`;
    expect([Number(percent), message]).toEqual([100, "last"]);
    const r = await api(url(), "GET", `/api/tasks/${id}`);
    expect(r.body.progress).toMatchObject({ percent: 100, message: "last" });
    expect(Number.isNaN(Date.parse(r.body.progress.at))).toBe(false);
  });

  it("shows on GET /api/tasks/{id} while the task runs; a new attempt starts without the last attempt's value", async () => {
    const id = await create({ mode: "fail-then-hold" }, { maxAttempts: 2, backoff: { baseMs: 10, maxMs: 10 } });
    const running = await waitFor(
      async () => {
        const r = await api(url(), "GET", `/api/tasks/${id}`);
        return r.body.status === "processing" && r.body.attempts === 2 && r.body.progress?.percent === 30 ? r.body : null;
      },
      { what: "second attempt reporting 30" },
    );
    expect(running.progress.message).toBe("working");
    // the first attempt's 80 was written, then cleared when the second attempt started
    const seen = await sql()<{ percent: number }[]>`
      select (progress->>'percent')::int as percent from public.progress_writes where task_id = ${id} order by ctid`;
    expect(seen.map((x) => x.percent)).toEqual([80, 30]);
    expect(progressAtClaim).toEqual([null, null]);
    release?.();
    await until(id, "completed");
    expect((await task(id)).progress).toMatchObject({ percent: 30, message: "working" });
  });

  it("simulate reports progress up to 100", async () => {
    const r = await api(url(), "POST", "/api/tasks", { type: "simulate", payload: { durationMs: 300 } });
    expect(r.status).toBe(201);
    await until(r.body.id, "completed");
    expect((await task(r.body.id)).progress).toMatchObject({ percent: 100, message: "done waiting" });
  });
});
