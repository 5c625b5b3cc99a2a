/**
 * Queries on baton.idempotency_keys. Times are the database's (now()), so instances with skewed
 * clocks agree on expiry and staleness.
 */
import { type Kysely, sql } from "kysely";
import type { DB } from "../types.js";

type Q = Kysely<DB>;

export interface IdempotencyRow {
  scope: string;
  key: string;
  requestHash: string;
  claim: string;
  status: number | null;
  contentType: string | null;
  responseBody: string | null;
  createdAt: Date;
  completedAt: Date | null;
  expiresAt: Date;
}

export type Claim = { claimed: true } | { claimed: false; row: IdempotencyRow | null };

/**
 * Claims (scope, key) for a request: inserts an in-progress row, or takes over a row that has
 * expired or whose in-progress claim is older than staleAfterSeconds (its request died). The
 * primary key serialises concurrent claims: exactly one wins. A loser gets the existing row (or
 * null if it vanished in between: the caller tries again).
 */
export async function claimKey(
  db: Q,
  p: { scope: string; key: string; requestHash: string; claim: string; ttlSeconds: number; staleAfterSeconds: number },
): Promise<Claim> {
  const won = await sql<{ claimed: boolean }>`
    insert into baton.idempotency_keys as k (scope, key, request_hash, claim, expires_at)
    values (${p.scope}, ${p.key}, ${p.requestHash}, ${p.claim}, now() + ${p.ttlSeconds} * interval '1 second')
    on conflict (scope, key) do update
      set request_hash = excluded.request_hash, claim = excluded.claim, status = null, content_type = null, response_body = null,
          created_at = now(), completed_at = null, expires_at = excluded.expires_at
      where k.expires_at <= now()
         or (k.status is null and k.created_at < now() - ${p.staleAfterSeconds} * interval '1 second')
    returning true as claimed`.execute(db);
  if (won.rows.length) return { claimed: true };
  const r = await sql<IdempotencyRow>`
    select * from baton.idempotency_keys where scope = ${p.scope} and key = ${p.key}`.execute(db);
  return { claimed: false, row: r.rows[0] ?? null };
}

/** Stores the response of the claiming request. */
export async function completeKey(
  db: Q,
  p: { scope: string; key: string; claim: string; status: number; contentType: string | null; body: string },
): Promise<void> {
  await sql`
    update baton.idempotency_keys
       set status = ${p.status}, content_type = ${p.contentType}, response_body = ${p.body}, completed_at = now()
     where scope = ${p.scope} and key = ${p.key} and claim = ${p.claim} and status is null`.execute(db);
}

/** Forgets an in-progress claim whose request had no lasting effect (an error response). */
export async function releaseKey(db: Q, p: { scope: string; key: string; claim: string }): Promise<void> {
  await sql`
    delete from baton.idempotency_keys
     where scope = ${p.scope} and key = ${p.key} and claim = ${p.claim} and status is null`.execute(db);
}

/**
 * Deletes expired rows, at most `batch` per statement (short transactions, no long lock on a big
 * backlog), until none are left. Served by idempotency_keys_expires_idx. Returns the count.
 */
export async function pruneExpiredKeys(db: Q, batch = 10_000): Promise<number> {
  let total = 0;
  for (;;) {
    const r = await sql`
      delete from baton.idempotency_keys
       where ctid in (select ctid from baton.idempotency_keys where expires_at <= now() limit ${batch})`.execute(db);
    const n = Number(r.numAffectedRows ?? 0);
    total += n;
    if (n < batch) return total;
  }
}
