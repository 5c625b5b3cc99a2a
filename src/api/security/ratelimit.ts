/**
 * Per-key rate limit on /api/*: a token bucket per caller that holds RATE_LIMIT_PER_MINUTE tokens
 * (so a client may burst a minute's allowance) and refills continuously at that rate. An empty
 * bucket answers 429 with Retry-After (whole seconds until one token is back).
 *
 * The caller is the API key (its hash) when keys are configured, otherwise the client address.
 * Buckets live in this process's memory: the limit is per instance, so N instances behind a load
 * balancer admit up to N times the rate. That keeps the hot path free of database writes; a shared
 * limit would need a table and a write per request. 0 (the default) turns the limit off.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../deps.js";
import { problem } from "../problem.js";
import { withHeaders } from "../response-headers.js";
import { principalOf } from "./auth.js";

interface Bucket {
  tokens: number;
  at: number;
}

/** Above this many buckets, full (idle) ones are dropped: they carry no state worth keeping. */
const MAX_BUCKETS = 10_000;

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;

  constructor(private readonly perMinute: number) {
    this.perMs = perMinute / 60_000;
  }

  /** Takes one token for `id`; when none is left, says how long until one is. */
  take(id: string, now = Date.now()): { ok: true; remaining: number } | { ok: false; retryAfterMs: number } {
    let b = this.buckets.get(id);
    if (!b) {
      if (this.buckets.size >= MAX_BUCKETS) this.sweep(now);
      b = { tokens: this.perMinute, at: now };
      this.buckets.set(id, b);
    }
    b.tokens = Math.min(this.perMinute, b.tokens + (now - b.at) * this.perMs);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true, remaining: Math.floor(b.tokens) };
    }
    return { ok: false, retryAfterMs: Math.ceil((1 - b.tokens) / this.perMs) };
  }

  get size(): number {
    return this.buckets.size;
  }

  private sweep(now: number): void {
    for (const [id, b] of this.buckets) {
      if (b.tokens + (now - b.at) * this.perMs >= this.perMinute) this.buckets.delete(id);
    }
  }
}

/** The middleware; registered after auth so the caller is known. A no-op when perMinute is 0. */
export function rateLimit(perMinute: number) {
  return (app: OpenAPIHono<AppEnv>) => {
    if (perMinute <= 0) return;
    const buckets = new TokenBuckets(perMinute);
    app.use("/api/*", async (c, next) => {
      const principal = principalOf(c);
      const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
      const id = principal ? `key:${principal}` : `addr:${incoming?.socket?.remoteAddress ?? "unknown"}`;
      const r = buckets.take(id);
      if (!r.ok) {
        const detail = `rate limit of ${perMinute} requests per minute exceeded (RATE_LIMIT_PER_MINUTE, per instance)`;
        return problem(c, 429, detail, {}, { "retry-after": String(Math.max(1, Math.ceil(r.retryAfterMs / 1000))) });
      }
      await withHeaders(c, { "ratelimit-remaining": String(r.remaining) }, next);
    });
  };
}
