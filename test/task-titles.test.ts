/**
 * Title search lives in baton.task_titles (migrations/0010_task_titles.sql): every path that
 * writes a title keeps it right (API create and PATCH, baton.enqueue, a DBA's UPDATE, delete),
 * and the worker's start and finish never write it, nor any title index on baton.tasks.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sql } from "../src/db/client.js";
import type { Service } from "../src/service.js";
import { createTestDb, type TestDb } from "./helpers/db.js";
import { api, startTestService, waitFor } from "./helpers/service.js";

let tdb: TestDb;
let svc: Service;
let sql: Sql;

beforeAll(async () => {
  tdb = await createTestDb();
  sql = tdb.database.sql;
  svc = await startTestService(tdb.url, { WORKER_CONCURRENCY: "2", PRUNE_INTERVAL_MS: "0" });
});
afterAll(async () => {
  await svc?.stop();
  await tdb?.drop();
});

const search = async (text: string): Promise<number[]> => {
  const r = await api(svc.url, "GET", `/api/tasks?search=${encodeURIComponent(text)}&sort=id&order=asc`);
  expect(r.status).toBe(200);
  return r.body.items.map((t: { id: number }) => t.id);
};
const titleRow = async (id: number) =>
  (await sql<{ title: string; xmin: string }[]>`select title, xmin::text from baton.task_titles where task_id = ${id}`)[0];

describe("title search", () => {
  it("finds tasks created through the API and through baton.enqueue, and not untitled ones", async () => {
    const a = await api(svc.url, "POST", "/api/tasks", { type: "noop", title: "Quarterly zebra report", runAt: "2030-01-01T00:00:00Z" });
    const [{ id: b }] = await sql<{ id: number }[]>`select baton.enqueue('noop', '{}'::jsonb, 'zebra from psql', 0, null, now() + interval '1 hour') as id`;
    const c = await api(svc.url, "POST", "/api/tasks", { type: "noop", runAt: "2030-01-01T00:00:00Z" });
    expect(await search("zebra")).toEqual([a.body.id, b]);
    expect(await search("ZEBRA REP")).toEqual([a.body.id]);
    expect(await titleRow(c.body.id)).toBeUndefined();
  });

  it("follows a PATCH of the title and a DBA's UPDATE, and forgets a deleted task", async () => {
    const t = await api(svc.url, "POST", "/api/tasks", { type: "noop", title: "old giraffe name", runAt: "2030-01-01T00:00:00Z" });
    const id = t.body.id as number;
    expect((await api(svc.url, "PATCH", `/api/tasks/${id}`, { title: "new okapi name" })).status).toBe(200);
    expect(await search("giraffe")).toEqual([]);
    expect(await search("okapi")).toEqual([id]);
    await sql`update baton.tasks set title = '' where id = ${id}`;
    expect(await titleRow(id)).toBeUndefined();
    expect(await search("okapi")).toEqual([]);
    await sql`update baton.tasks set title = 'okapi again' where id = ${id}`;
    expect(await search("okapi")).toEqual([id]);
    expect((await api(svc.url, "DELETE", `/api/tasks/${id}`)).status).toBe(204);
    expect(await titleRow(id)).toBeUndefined();
  });

  it("is not written when a task runs: no title index on baton.tasks, the title row stays the same version", async () => {
    const [{ n }] = await sql<{ n: number }[]>`
      select count(*)::int as n from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
      where i.indrelid = 'baton.tasks'::regclass and a.attname = 'title'`;
    const [{ expr }] = await sql<{ expr: number }[]>`
      select count(*)::int as expr from pg_index i
      where i.indrelid = 'baton.tasks'::regclass and pg_get_indexdef(i.indexrelid) ~ 'title'`;
    expect({ n, expr }).toEqual({ n: 0, expr: 0 });
    const t = await api(svc.url, "POST", "/api/tasks", { type: "noop", title: "runs once, searched often" });
    const id = t.body.id as number;
    const before = await titleRow(id);
    await waitFor(async () => (await sql`select 1 from baton.tasks where id = ${id} and status = 'completed'`).length === 1, { what: "completed" });
    expect(await titleRow(id)).toEqual(before);
    expect(await search("searched often")).toEqual([id]);
  });
});
