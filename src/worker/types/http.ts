/**
 * http: calls a URL through the guarded outbound client. 2xx succeeds. 5xx, 408, 429 and network
 * errors fail and retry (a Retry-After header sets the delay when longer than the backoff); any
 * other 4xx, a denied destination or a request undici refuses to send fails at once, since a
 * retry cannot fix it. The response status and a bounded excerpt of the body go into the result
 * or lastError. Covers webhooks (Slack, Discord, Feishu style) and "publish to an external queue
 * API".
 */
import { z } from "zod";
import { PermanentError, RetryableError } from "../errors.js";
import { type OutboundClient, OutboundDeniedError, type OutboundRequest } from "../outbound.js";
import { registerTaskType } from "../registry.js";

/** Characters of the response body kept in the result or lastError. */
export const EXCERPT_CHARS = 2000;

const params = z.object({
  url: z
    .string()
    .max(2048)
    .refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), "must be an http(s) URL"),
  method: z.enum(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]).default("POST"),
  headers: z.record(z.string().max(256), z.string().max(8192)).default({}),
  secretHeaders: z
    .array(z.string().max(256))
    .max(50)
    .default([])
    .describe("Header names not to send on when a redirect leads to another origin (Authorization, Cookie and Proxy-Authorization never are)"),
  body: z.unknown().optional().describe("Sent as JSON (strings are sent as they are)"),
  timeoutMs: z.number().int().min(100).max(600_000).default(30_000),
});

export type HttpParams = z.output<typeof params>;

/** Retry-After as milliseconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(v: string | string[] | undefined): number | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  if (!s) return undefined;
  if (/^\d+$/.test(s.trim())) return Number(s.trim()) * 1000;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : Math.max(0, t - Date.now());
}

/** undici's codes for a request it refuses to send as given (e.g. a `connection` header). */
const REFUSED_CODES = new Set(["UND_ERR_INVALID_ARG", "UND_ERR_REQ_CONTENT_LENGTH_MISMATCH", "UND_ERR_NOT_SUPPORTED"]);

/** A network error as one line: AggregateError (one per address tried) has no message of its own. */
function describe(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length) return err.errors.map(describe).join("; ");
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? ` (${describe(err.cause)})` : "";
  return `${err.message || err.name}${cause}`;
}

/**
 * Sends one call and maps its result to the http type's contract: the response on 2xx, else a
 * RetryableError (5xx, 408, 429, network errors, timeouts; Retry-After honoured) or a
 * PermanentError (other statuses, denied destinations). Rejects with `signal.reason` on abort.
 * The notifier sends its webhooks through this too.
 */
export async function callHttp(
  client: OutboundClient,
  p: Omit<HttpParams, "secretHeaders"> & { secretHeaders?: string[] },
  signal: AbortSignal,
): Promise<{ status: number; body: string; truncated: boolean }> {
  const headers: Record<string, string> = { ...p.headers };
  let body: string | undefined;
  if (p.body !== undefined && p.method !== "GET" && p.method !== "HEAD") {
    body = typeof p.body === "string" ? p.body : JSON.stringify(p.body);
    if (!Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) {
      headers["content-type"] = typeof p.body === "string" ? "text/plain; charset=utf-8" : "application/json";
    }
  }
  const req: OutboundRequest = { url: p.url, method: p.method, headers, secretHeaders: p.secretHeaders, body, timeoutMs: p.timeoutMs, signal };
  let res: Awaited<ReturnType<OutboundClient["request"]>>;
  try {
    res = await client.request(req);
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    if (err instanceof OutboundDeniedError) throw new PermanentError(err.message);
    const code = (err as { code?: string }).code;
    if (code && REFUSED_CODES.has(code)) throw new PermanentError(`request refused: ${describe(err)}`, { cause: err });
    throw new RetryableError(`request failed: ${describe(err)}`, undefined, { cause: err });
  }
  const excerpt = res.body.slice(0, EXCERPT_CHARS);
  const truncated = res.truncated || res.body.length > EXCERPT_CHARS;
  const summary = `HTTP ${res.status}${excerpt ? `: ${excerpt}${truncated ? "…" : ""}` : ""}`;
  if (res.status >= 200 && res.status < 300) return { status: res.status, body: excerpt, truncated };
  if (res.status >= 500 || res.status === 408 || res.status === 429) {
    throw new RetryableError(summary, parseRetryAfter(res.headers["retry-after"]));
  }
  throw new PermanentError(summary);
}

export const httpType = registerTaskType({
  name: "http",
  description: "Calls a URL (method, headers, JSON body, timeout). 2xx succeeds; 5xx/408/429/network errors retry; other 4xx fail at once.",
  params,
  handler: (p, ctx) => callHttp(ctx.outbound, p, ctx.signal),
});
