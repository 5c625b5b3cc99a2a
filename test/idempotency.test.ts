/**
 * Idempotency-Key on POST /api/tasks and /api/tasks/batch: a retry replays the first response and
 * creates nothing; another body under the same key is 422; 20 concurrent identical requests create
 * one task and all get its id; keys are scoped per API key, expire, and are pruned.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IdempotencyPruner, requestFingerprint } from "../src/api/security/idempotency.js";
import { createLogger } from "../src/log.js";
import type { Service } from "../src/service.js";
import { createTestDb, type TestDb } from "./helpers/db.js";
import { startTestService, waitFor } from "./helpers/service.js";

const KEY_A = "idempotency-test-key-a";
const KEY_B = "idempotency-test-key-b";
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

let tdb: TestDb;
let svc: Service;

beforeAll(async () => {
  tdb = await createTestDb();
  svc = await startTestService(tdb.url, { API_KEY_HASHES: `${sha256(KEY_A)},${sha256(KEY_B)}`, WORKER_ENABLED: "false", SCHEDULER_ENABLED: "false" });
});
afterAll(async () => {
  await svc?.stop();
  await tdb?.drop();
});

async function post(path: string, body: string | object, idem?: string, apiKey = KEY_A) {
  const headers: Record<string, string> = { "content-type": "application/json", "x-api-key": apiKey };
  if (idem !== undefined) headers["idempotency-key"] = idem;
  const res = await fetch(svc.url + path, { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) });
  const text = await res.text();
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, text, body: json, replayed: res.headers.get("idempotent-replayed") };
}

async function countTitled(title: string): Promise<number> {
  const r = await tdb.database.sql`select count(*)::int as n from baton.tasks where title = ${title}`;
  return r[0].n;
}

describe("single create", () => {
  it("replays the first response to a retry and creates nothing more", async () => {
    const body = { type: "noop", title: "idem-single", priority: 3 };
    const first = await post("/api/tasks", body, "key-single");
    expect(first.status).toBe(201);
    expect(first.replayed).toBeNull();
    const again = await post("/api/tasks", body, "key-single");
    expect(again.status).toBe(201);
    expect(again.replayed).toBe("true");
    expect(again.text).toBe(first.text);
    // Key order and whitespace do not make it another request.
    const reordered = await post("/api/tasks", `{ "priority": 3,\n "title": "idem-single", "type": "noop" }`, "key-single");
    expect(reordered.status).toBe(201);
    expect(reordered.body.id).toBe(first.body.id);
    expect(await countTitled("idem-single")).toBe(1);
  });

  it("answers 422 to the same key with a different body, or on the other endpoint", async () => {
    const first = await post("/api/tasks", { type: "noop", title: "idem-422" }, "key-422");
    expect(first.status).toBe(201);
    const other = await post("/api/tasks", { type: "noop", title: "idem-422-changed" }, "key-422");
    expect(other.status).toBe(422);
    expect(other.body.status).toBe(422);
    const batch = await post("/api/tasks/batch", { tasks: [{ type: "noop", title: "idem-422" }] }, "key-422");
    expect(batch.status).toBe(422);
    expect(await countTitled("idem-422")).toBe(1);
    expect(await countTitled("idem-422-changed")).toBe(0);
  });

  it("does not affect requests without the header", async () => {
    const body = { type: "noop", title: "idem-none" };
    expect((await post("/api/tasks", body)).status).toBe(201);
    expect((await post("/api/tasks", body)).status).toBe(201);
    expect(await countTitled("idem-none")).toBe(2);
  });

  it("does not store error responses: the key is free again", async () => {
    const bad = await post("/api/tasks", { type: "noop", title: "idem-err", priority: "high" }, "key-err");
    expect(bad.status).toBe(400);
    const fixed = await post("/api/tasks", { type: "noop", title: "idem-err", priority: 1 }, "key-err");
    expect(fixed.status).toBe(201);
    expect(fixed.replayed).toBeNull();
    expect(await countTitled("idem-err")).toBe(1);
  });

  it("rejects a malformed Idempotency-Key", async () => {
    for (const k of ["", "has space", "x".repeat(256), "naïve"]) {
      const r = await post("/api/tasks", { type: "noop", title: "idem-badkey" }, k);
      expect(r.status, JSON.stringify(k)).toBe(400);
    }
    expect(await countTitled("idem-badkey")).toBe(0);
  });
});

describe("concurrent retries", () => {
  it("20 concurrent identical creates with one key: one task, all 20 get its id", async () => {
    const body = { type: "noop", title: "idem-concurrent", payload: { n: 1 } };
    const rs = await Promise.all(Array.from({ length: 20 }, () => post("/api/tasks", body, "key-concurrent")));
    expect(rs.map((r) => r.status)).toEqual(Array(20).fill(201));
    const ids = new Set(rs.map((r) => r.body.id));
    expect(ids.size).toBe(1);
    expect(await countTitled("idem-concurrent")).toBe(1);
    expect(rs.filter((r) => r.replayed === null)).toHaveLength(1);
  });

  it("20 concurrent identical batches with one key: one batch, all 20 get the same ids", async () => {
    const body = { tasks: Array.from({ length: 50 }, (_, i) => ({ type: "noop", title: "idem-batch", payload: { i } })) };
    const rs = await Promise.all(Array.from({ length: 20 }, () => post("/api/tasks/batch", body, "key-batch")));
    expect(rs.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(new Set(rs.map((r) => JSON.stringify(r.body.ids))).size).toBe(1);
    expect(rs[0].body.created).toBe(50);
    expect(await countTitled("idem-batch")).toBe(50);
  });

  it("a retry waits for a request still in progress and replays its response", async () => {
    const body = { type: "noop", title: "idem-wait" };
    const scope = sha256(KEY_A);
    const { sql } = tdb.database;
    // Another instance holds the key (an in-progress row) ...
    await sql`
      insert into baton.idempotency_keys (scope, key, request_hash, claim, expires_at)
      values (${scope}, 'key-wait', ${requestFingerprint("POST", "/api/tasks", JSON.stringify(body))}, 'elsewhere', now() + interval '1 hour')`;
    // Each claim attempt on the key is an insert (one the conflict turns into nothing still fires
    // a BEFORE trigger): announce them, so the test sees the retry find the key in progress.
    await sql.unsafe(`
      create function public.idem_claim_seen() returns trigger language plpgsql as $$
      begin perform pg_notify('idem_claim_seen', new.key); return new; end $$;
      create trigger idem_claim_seen before insert on baton.idempotency_keys
        for each row when (new.key = 'key-wait') execute function public.idem_claim_seen();`);
    let claims = 0;
    const sub = await sql.listen("idem_claim_seen", () => {
      claims++;
    });
    try {
      let answered = false;
      const pending = post("/api/tasks", body, "key-wait").finally(() => {
        answered = true;
      });
      // A second attempt means the retry read the row after its first, found it in progress, and
      // went on waiting instead of answering ...
      await waitFor(() => claims >= 2 || answered, { timeoutMs: 10_000, what: "the retry to poll the in-progress key again" });
      expect(answered, `the retry answered while the key was in progress: ${JSON.stringify(answered && (await pending))}`).toBe(false);
      // ... and the holder finishes while the retry waits.
      await sql`
        update baton.idempotency_keys set status = 201, content_type = 'application/json', response_body = '{"id":424242}', completed_at = now()
        where scope = ${scope} and key = 'key-wait'`;
      const r = await pending;
      expect(r.status).toBe(201);
      expect(r.replayed).toBe("true");
      expect(r.body).toEqual({ id: 424242 });
      expect(await countTitled("idem-wait")).toBe(0);
    } finally {
      await sub.unlisten();
      await sql.unsafe("drop trigger idem_claim_seen on baton.idempotency_keys; drop function public.idem_claim_seen()");
    }
  });

  it("takes over a claim whose request died (in progress for longer than the stale limit)", async () => {
    const body = { type: "noop", title: "idem-stale" };
    await tdb.database.sql`
      insert into baton.idempotency_keys (scope, key, request_hash, claim, created_at, expires_at)
      values (${sha256(KEY_A)}, 'key-stale', ${requestFingerprint("POST", "/api/tasks", JSON.stringify(body))}, 'dead', now() - interval '10 minutes', now() + interval '1 hour')`;
    const r = await post("/api/tasks", body, "key-stale");
    expect(r.status).toBe(201);
    expect(await countTitled("idem-stale")).toBe(1);
  });
});

describe("scope and expiry", () => {
  it("scopes keys per API key", async () => {
    const a = await post("/api/tasks", { type: "noop", title: "idem-scope" }, "key-shared", KEY_A);
    const b = await post("/api/tasks", { type: "noop", title: "idem-scope" }, "key-shared", KEY_B);
    const b2 = await post("/api/tasks", { type: "noop", title: "idem-scope-b" }, "key-shared", KEY_B);
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.replayed).toBeNull();
    expect(b.body.id).not.toBe(a.body.id);
    expect(b2.status).toBe(422);
    const rows = await tdb.database.sql`select scope from baton.idempotency_keys where key = 'key-shared' order by scope`;
    expect(rows.map((r) => r.scope).sort()).toEqual([sha256(KEY_A), sha256(KEY_B)].sort());
  });

  it("remembers a key for IDEMPOTENCY_TTL_SECONDS (24 h by default), then forgets it", async () => {
    const first = await post("/api/tasks", { type: "noop", title: "idem-ttl" }, "key-ttl");
    expect(first.status).toBe(201);
    const [row] = await tdb.database.sql`
      select extract(epoch from expires_at - created_at)::int as ttl from baton.idempotency_keys where key = 'key-ttl'`;
    expect(row.ttl).toBe(86_400);
    await tdb.database.sql`update baton.idempotency_keys set expires_at = now() - interval '1 second' where key = 'key-ttl'`;
    const later = await post("/api/tasks", { type: "noop", title: "idem-ttl-2" }, "key-ttl");
    expect(later.status).toBe(201);
    expect(later.body.id).not.toBe(first.body.id);
  });

  it("prunes expired keys and keeps live ones", async () => {
    await tdb.database.sql`
      insert into baton.idempotency_keys (scope, key, request_hash, claim, status, expires_at)
      select 'prune-test', 'k' || g, 'h', 'c', 201, now() - interval '1 minute' from generate_series(1, 25) g
      union all
      select 'prune-test', 'live' || g, 'h', 'c', 201, now() + interval '1 hour' from generate_series(1, 5) g`;
    const pruner = new IdempotencyPruner(tdb.database.db, createLogger("silent", "test"), 60_000);
    expect(await pruner.runOnce()).toBeGreaterThanOrEqual(25);
    const [left] = await tdb.database.sql`select count(*)::int as n from baton.idempotency_keys where scope = 'prune-test'`;
    expect(left.n).toBe(5);
  });
});
