/**
 * Idempotency-Key on POST /api/tasks and POST /api/tasks/batch (IDEMPOTENT_PATHS).
 *
 * - The first request with a key claims it: one insert into baton.idempotency_keys, whose primary
 *   key (scope, key) lets exactly one concurrent request win. The winner runs the route; a 2xx
 *   response is stored (status, content type, body byte for byte). Any other outcome releases the
 *   key: nothing was created, and a retry runs afresh (and gets the same error if it is one).
 * - A request that finds the key taken with the same fingerprint waits for the stored response
 *   (polling, 10 → 200 ms, up to WAIT_MS) and replays it, with `Idempotent-Replayed: true`.
 *   Twenty concurrent identical requests therefore create one task and all see its id.
 * - The same key with a different fingerprint (method, path, canonical JSON body: key order and
 *   whitespace do not matter) is answered 422.
 * - Keys are scoped per API key (the configured hash that authorised the request), so two clients
 *   cannot collide or read each other's responses. With no keys configured there is one scope.
 * - Keys expire IDEMPOTENCY_TTL_SECONDS (default 24 h) after the first request; then the key may
 *   be used again, and the pruner deletes the row.
 * - A claim still in progress after STALE_AFTER_S (its instance died mid-request) may be taken over
 *   by a retry. Known limit: if an instance dies after the task committed but before the response
 *   was stored, that retry creates the task again; the window is the few milliseconds between the
 *   two writes. Closing it would need the claim written in the task's own transaction.
 */
import { createHash, randomUUID } from "node:crypto";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Db } from "../../db/client.js";
import { claimKey, completeKey, pruneExpiredKeys, releaseKey } from "../../db/queries/idempotency.js";
import type { Logger } from "../../log.js";
import type { Component } from "../../service.js";
import type { AppEnv } from "../deps.js";
import { problem } from "../problem.js";
import { principalOf } from "./auth.js";

export const IDEMPOTENT_PATHS = ["/api/tasks", "/api/tasks/batch"] as const;
/** How long a retry waits for the first request's response before answering 409. */
export const WAIT_MS = 30_000;
/** An in-progress claim older than this is considered dead and may be taken over. */
export const STALE_AFTER_S = 120;
const KEY_FORMAT = /^[\x21-\x7e]{1,255}$/;

/** JSON with object keys sorted, so {"a":1,"b":2} and {"b":2,"a":1} fingerprint alike. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

export function requestFingerprint(method: string, path: string, body: string): string {
  let normal = body;
  try {
    normal = canonical(JSON.parse(body));
  } catch {
    // Not JSON: the route answers 400; the raw text is fingerprint enough.
  }
  return createHash("sha256").update(`${method} ${path}\n${normal}`).digest("hex");
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function idempotency(db: Db, log: Logger, ttlSeconds: number) {
  const handler = async (c: Context<AppEnv>, next: () => Promise<void>) => {
    if (c.req.method !== "POST") return next();
    const key = c.req.header("idempotency-key");
    if (key === undefined) return next();
    if (!KEY_FORMAT.test(key)) {
      const message = "must be 1-255 visible ASCII characters";
      return problem(c, 400, `Idempotency-Key header ${message}`, { errors: [{ field: "header.idempotency-key", message }] });
    }
    const scope = principalOf(c) ?? "";
    const url = new URL(c.req.url);
    const requestHash = requestFingerprint(c.req.method, url.pathname + url.search, await c.req.text());
    const claim = randomUUID();
    const deadline = Date.now() + WAIT_MS;
    for (let delay = 10; ; delay = Math.min(200, Math.ceil(delay * 1.5))) {
      const r = await claimKey(db, { scope, key, requestHash, claim, ttlSeconds, staleAfterSeconds: STALE_AFTER_S });
      if (r.claimed) break;
      const row = r.row;
      if (row) {
        if (row.requestHash !== requestHash) {
          return problem(c, 422, "this Idempotency-Key was already used with a different request (method, path or body)");
        }
        if (row.status !== null) {
          return new Response(row.responseBody, {
            status: row.status,
            headers: { "content-type": row.contentType ?? "application/json", "idempotent-replayed": "true" },
          });
        }
        if (Date.now() > deadline) {
          return problem(c, 409, "a request with this Idempotency-Key is still in progress; retry later", {}, { "retry-after": "1" });
        }
      }
      // row === null: the holder released it in between; claim again at once.
      if (row) await sleep(delay);
    }

    let stored = false;
    try {
      await next();
      const res = c.res;
      if (res.status >= 200 && res.status < 300) {
        const body = await res.clone().text();
        await completeKey(db, { scope, key, claim, status: res.status, contentType: res.headers.get("content-type"), body });
        stored = true;
      }
    } finally {
      if (!stored) {
        await releaseKey(db, { scope, key, claim }).catch((err) => log.warn({ err: (err as Error).message }, "could not release an idempotency key"));
      }
    }
  };
  return (app: OpenAPIHono<AppEnv>) => {
    for (const p of IDEMPOTENT_PATHS) app.use(p, handler);
  };
}

/** Deletes expired idempotency keys every intervalMs (every instance may; deletes are idempotent). */
export class IdempotencyPruner implements Component {
  readonly name = "idempotency-pruner";
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    private readonly intervalMs = 10 * 60_000,
  ) {}

  /** One pass; returns how many rows it deleted. */
  async runOnce(): Promise<number> {
    const n = await pruneExpiredKeys(this.db);
    if (n) this.log.info({ deleted: n }, "expired idempotency keys pruned");
    return n;
  }

  async start(): Promise<void> {
    const tick = () => {
      if (this.running) return;
      this.running = this.runOnce()
        .catch((err) => this.log.warn({ err: (err as Error).message }, "idempotency prune failed"))
        .finally(() => {
          this.running = null;
        });
    };
    this.timer = setInterval(tick, this.intervalMs);
    this.timer.unref();
    tick();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
