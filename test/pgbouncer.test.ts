/**
 * Two real baton processes with DATABASE_URL through a real PgBouncer in transaction mode and
 * WORKER_DATABASE_URL direct (README, "PgBouncer"): the multi-instance lifecycle (every task
 * completes once, on both instances) and a cancel that reaches a running handler, which needs
 * LISTEN on the direct connection. Debian's pgbouncer 1.18 cannot keep prepared statements in
 * transaction mode, so DB_PREPARED_STATEMENTS=false; the last test shows why.
 *
 * Skipped, with the reason as its title, where pgbouncer is not installed; never under CI=true
 * (.ci/run installs it).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase } from "../src/db/client.js";
import { createTestDb, type TestDb } from "./helpers/db.js";
import { type PgBouncer, pgbouncerBin, startPgBouncer } from "./helpers/pgbouncer.js";
import { type Instance, spawnInstance } from "./helpers/process.js";
import { expectSharedDrain } from "./helpers/shared-drain.js";
import { api, waitFor } from "./helpers/service.js";

const installed = pgbouncerBin() !== null;

if (!installed && process.env.CI !== "true") {
  it.skip("SKIPPED: pgbouncer is not installed (apt-get install pgbouncer, or set PGBOUNCER_BIN); CI=true runs these tests", () => {});
} else {
  describe("through PgBouncer (transaction mode)", () => {
    let tdb: TestDb;
    let bouncer: PgBouncer;
    let a: Instance;
    let b: Instance;

    beforeAll(async () => {
      tdb = await createTestDb();
      bouncer = await startPgBouncer(tdb.url, { poolMode: "transaction", poolSize: 10 });
      const env = { WORKER_DATABASE_URL: tdb.url, DB_PREPARED_STATEMENTS: "false", WORKER_CONCURRENCY: "8" };
      [a, b] = await Promise.all([spawnInstance(bouncer.url(tdb.url), "bouncer-a", env), spawnInstance(bouncer.url(tdb.url), "bouncer-b", env)]);
    }, 120_000);
    afterAll(async () => {
      const codes = await Promise.all([a?.stop(), b?.stop()]);
      await bouncer?.stop();
      await tdb?.drop();
      expect(codes).toEqual([0, 0]);
    });

    it("1,000 simulate tasks created through either instance all complete, once each, on both", async () => {
      await expectSharedDrain(a, b, tdb.database.db, { timeoutMs: 180_000 });
      // the API and bookkeeping really went through PgBouncer
      expect(await bouncer.serverConnections()).toBeGreaterThan(0);
    }, 240_000);

    it("a cancel sent through one instance aborts the handler running on whichever instance holds it", async () => {
      const created = await api(a.url, "POST", "/api/tasks", { type: "simulate", payload: { durationMs: 600_000 } });
      expect(created.status).toBe(201);
      const id: number = created.body.id;
      const holder = await waitFor(
        async () => {
          const r = await api(b.url, "GET", `/api/tasks/${id}`);
          return r.body.status === "processing" ? (r.body.lockedBy as string) : null;
        },
        { what: `task ${id} to start` },
      );
      const other = holder === a.id ? b : a;
      const canceled = await api(other.url, "POST", `/api/tasks/${id}/cancel`);
      expect(canceled.status, JSON.stringify(canceled.body)).toBe(200);
      // The holder's handler is aborted by NOTIFY baton_cancel, heard on its direct connection.
      const log = path.resolve(import.meta.dirname, "../test-artifacts", `${holder}.log`);
      await waitFor(
        () =>
          readFileSync(log, "utf8")
            .split("\n")
            .some((l) => l.includes("cancel received; handler aborted") && l.includes(`"taskId":${id}`)),
        { timeoutMs: 15_000, what: `${holder} to abort task ${id}'s handler` },
      );
      const t = await api(a.url, "GET", `/api/tasks/${id}`);
      expect(t.body.status).toBe("canceled");
    }, 60_000);

    it("named prepared statements do not survive its transaction mode (why DB_PREPARED_STATEMENTS=false)", async () => {
      // Three clients sharing two server connections: a client that prepared its statement on one
      // server connection is soon given the other, where that statement does not exist. Outside a
      // transaction postgres.js prepares it again and retries (one wasted round trip and a server
      // ERROR per miss); inside one the miss has aborted the transaction, and the retry fails.
      const small = await startPgBouncer(tdb.url, { poolMode: "transaction", poolSize: 2 });
      const clients = [0, 1, 2].map(() => createDatabase(small.url(tdb.url), { max: 1, prepare: true }));
      const probe = (d: (typeof clients)[number], n: number) =>
        d.db.transaction().execute((trx) => sql<{ n: number }>`select ${n}::int as n, count(*)::int as c from baton.tasks`.execute(trx));
      try {
        const errors: string[] = [];
        for (let i = 0; i < 50 && errors.length === 0; i++) {
          const rs = await Promise.allSettled(clients.flatMap((d) => [probe(d, i), probe(d, i + 1)]));
          for (const r of rs) if (r.status === "rejected") errors.push(String((r.reason as Error).message));
        }
        expect(errors.join("; ")).toMatch(/prepared statement .* does not exist|current transaction is aborted/);
      } finally {
        await Promise.all(clients.map((d) => d.close()));
        await small.stop();
      }
    });
  });
}
