/**
 * Defaults are written once in TypeScript (src/domain/backoff.ts) and in SQL only where the
 * schema needs them (column defaults, used by baton.enqueue and plain INSERTs). This file checks
 * that every path a task or schedule is created by ends with the same backoff.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_BACKOFF } from "../src/domain/backoff.js";
import { api, serviceForFile } from "./helpers/service.js";

const file = serviceForFile({ WORKER_ENABLED: "false", SCHEDULER_ENABLED: "false" });

describe("the backoff default", () => {
  it("is the column default of baton.tasks and baton.schedules", async () => {
    const rows = await file.tdb.database.sql<{ table_name: string; column_default: string }[]>`
      select table_name, column_default from information_schema.columns
      where table_schema = 'baton' and table_name in ('tasks', 'schedules') and column_name = 'backoff'
      order by table_name`;
    expect(rows.map((r) => r.table_name)).toEqual(["schedules", "tasks"]);
    for (const r of rows) {
      const literal = /^'(.*)'::jsonb$/.exec(r.column_default)?.[1];
      expect(literal, `${r.table_name}.backoff default ${r.column_default}`).toBeDefined();
      expect(JSON.parse(literal as string), r.table_name).toEqual(DEFAULT_BACKOFF);
    }
  });

  it("is what a task gets from the API, from a batch, from baton.enqueue and from a schedule", async () => {
    const one = await api(file.svc.url, "POST", "/api/tasks", { type: "noop" });
    expect(one.status).toBe(201);
    expect(one.body.backoff).toEqual(DEFAULT_BACKOFF);

    const batch = await api(file.svc.url, "POST", "/api/tasks/batch", { tasks: [{ type: "noop" }, { type: "noop", backoff: { baseMs: 5 } }] });
    expect(batch.status).toBe(200);
    const [a, b] = await Promise.all(batch.body.ids.map((id: number) => api(file.svc.url, "GET", `/api/tasks/${id}`)));
    expect(a.body.backoff).toEqual(DEFAULT_BACKOFF);
    expect(b.body.backoff).toEqual({ baseMs: 5, maxMs: DEFAULT_BACKOFF.maxMs });

    const [{ id }] = await file.tdb.database.sql<{ id: number }[]>`select baton.enqueue('noop') as id`;
    expect((await api(file.svc.url, "GET", `/api/tasks/${id}`)).body.backoff).toEqual(DEFAULT_BACKOFF);

    const s = await api(file.svc.url, "POST", "/api/schedules", { name: "default-backoff", type: "noop", trigger: { kind: "interval", seconds: 3600 }, status: "paused" });
    expect(s.status).toBe(201);
    expect(s.body.backoff).toEqual(DEFAULT_BACKOFF);
    const run = await api(file.svc.url, "POST", `/api/schedules/${s.body.id}/trigger`);
    expect(run.body.backoff).toEqual(DEFAULT_BACKOFF);
  });
});
