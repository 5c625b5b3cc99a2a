/**
 * The multi-instance lifecycle, shared by test/multi-instance.test.ts (direct) and
 * test/pgbouncer.test.ts (through PgBouncer): 1,000 simulate tasks, half in batches through A and
 * half as concurrent single creates through B, all complete with one attempt and exactly one
 * outcome row, both instances run some, none runs on two (a second run would have needed a second
 * start, which bumps attempts), and /api/status sees both instances.
 */
import { sql } from "kysely";
import { expect } from "vitest";
import type { Db } from "../../src/db/client.js";
import type { Instance } from "./process.js";
import { api, waitFor } from "./service.js";

export async function expectSharedDrain(a: Instance, b: Instance, db: Db, opts: { timeoutMs: number }): Promise<void> {
  const ids: number[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await api(a.url, "POST", "/api/tasks/batch", {
      tasks: Array.from({ length: 100 }, () => ({ type: "simulate", payload: { minMs: 5, maxMs: 25 } })),
    });
    expect(r.status).toBe(200);
    ids.push(...r.body.ids);
  }
  for (let i = 0; i < 10; i++) {
    const rs = await Promise.all(
      Array.from({ length: 50 }, () => api(b.url, "POST", "/api/tasks", { type: "simulate", payload: { minMs: 5, maxMs: 25 } })),
    );
    for (const r of rs) {
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      ids.push(r.body.id);
    }
  }
  expect(new Set(ids).size).toBe(1000);
  await waitFor(
    async () => {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from baton.tasks where status = 'completed'`.execute(db);
      return rows[0].n === 1000;
    },
    { timeoutMs: opts.timeoutMs, what: "1000 completed" },
  );
  const { rows: perTask } = await sql<{ attempts: number; logs: number; instances: number; succeeded: number }>`
    select t.attempts, count(l.id)::int as logs,
           count(*) filter (where l.event = 'succeeded' and l.attempt = 1)::int as succeeded,
           count(distinct l.instance_id)::int as instances
    from baton.tasks t left join baton.task_logs l on l.task_id = t.id group by t.id`.execute(db);
  expect(perTask).toHaveLength(1000);
  expect(perTask.filter((r) => r.attempts !== 1 || r.logs !== 1 || r.succeeded !== 1 || r.instances !== 1)).toEqual([]);
  const names = [a.id, b.id].sort();
  const { rows: byInstance } = await sql<{ instanceId: string; n: number }>`
    select instance_id, count(*)::int as n from baton.task_logs where event = 'succeeded' group by instance_id order by 1`.execute(db);
  expect(byInstance.map((r) => r.instanceId)).toEqual(names);
  expect(byInstance.every((r) => r.n > 0)).toBe(true);
  const s = await api(a.url, "GET", "/api/status");
  expect(s.body.instances.map((i: { id: string }) => i.id).sort()).toEqual(names);
}
