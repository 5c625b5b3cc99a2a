/**
 * http: calls a URL through the guarded outbound client. 2xx succeeds. 5xx, 408, 429 and network
 * errors fail and retry (a Retry-After header sets the delay when longer than the backoff); any
 * other 4xx, a denied destination or a bad URL fails at once, since a retry cannot fix it. The
 * response status and a bounded excerpt of the body go into the result or lastError. Covers
 * webhooks (Slack, Discord, Feishu style) and "publish to an external queue API".
 */
import { z } from "zod";
import { PermanentError, RetryableError } from "../errors.js";
import { OutboundDeniedError, type OutboundGuard, outboundRequest } from "../outbound.js";
import { registerTaskType } from "../registry.js";

const EXCERPT = 2000;

let guard: OutboundGuard | null = null;
/** Set once at start from OUTBOUND_ALLOW / OUTBOUND_DENY. */
export function setOutboundGuard(g: OutboundGuard): void {
  guard = g;
}

const params = z.object({
  url: z
    .string()
    .max(2048)
    .refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), "must be an http(s) URL"),
  method: z.enum(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]).default("POST"),
  headers: z.record(z.string().max(256), z.string().max(8192)).default({}),
  body: z.unknown().optional().describe("Sent as JSON (strings are sent as they are)"),
  timeoutMs: z.number().int().min(100).max(600_000).default(30_000),
});

/** Retry-After as milliseconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(v: string | string[] | undefined): number | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  if (!s) return undefined;
  if (/^\d+$/.test(s.trim())) return Number(s.trim()) * 1000;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : Math.max(0, t - Date.now());
}

export const httpType = registerTaskType({
  name: "http",
  description: "Calls a URL (method, headers, JSON body, timeout). 2xx succeeds; 5xx/408/429/network errors retry; other 4xx fail at once.",
  params,
  handler: async (p, ctx) => {
    if (!guard) throw new Error("outbound guard not configured");
    const headers: Record<string, string> = { ...p.headers };
    let body: string | undefined;
    if (p.body !== undefined && p.method !== "GET" && p.method !== "HEAD") {
      body = typeof p.body === "string" ? p.body : JSON.stringify(p.body);
      if (!Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) {
        headers["content-type"] = typeof p.body === "string" ? "text/plain; charset=utf-8" : "application/json";
      }
    }
    let res: Awaited<ReturnType<typeof outboundRequest>>;
    try {
      res = await outboundRequest(guard, { url: p.url, method: p.method, headers, body, timeoutMs: p.timeoutMs, signal: ctx.signal });
    } catch (err) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      if (err instanceof OutboundDeniedError) throw new PermanentError(err.message);
      throw new RetryableError(`request failed: ${(err as Error).message}`);
    }
    const excerpt = res.body.slice(0, EXCERPT);
    const summary = `HTTP ${res.status}${excerpt ? `: ${excerpt}` : ""}`;
    if (res.status >= 200 && res.status < 300) return { status: res.status, body: excerpt, truncated: res.truncated || res.body.length > EXCERPT };
    if (res.status >= 500 || res.status === 408 || res.status === 429) {
      throw new RetryableError(summary, parseRetryAfter(res.headers["retry-after"]));
    }
    throw new PermanentError(summary);
  },
});
