/**
 * RFC 9457 problem+json. AppError codes map to statuses in one switch; anything unknown becomes a
 * plain 500 whose details go to the log, never to the response.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { AppError, type ErrorCode, type FieldError, fromDbError } from "../domain/errors.js";

export function statusOf(code: ErrorCode): number {
  switch (code) {
    case "VALIDATION":
      return 400;
    case "UNAUTHORIZED":
      return 401;
    case "NOT_FOUND":
      return 404;
    case "CONFLICT":
    case "INVALID_STATE":
      return 409;
    case "PAYLOAD_TOO_LARGE":
      return 413;
    case "UNPROCESSABLE":
      return 422;
    case "RATE_LIMITED":
      return 429;
    case "UNAVAILABLE":
      return 503;
  }
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldError[];
  requestId?: string;
  [k: string]: unknown;
}

export function problem(
  c: Context,
  status: number,
  detail: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Response {
  const body: Problem = {
    type: `https://baton.dev/problems/${status}`,
    title: TITLES[status] ?? "Error",
    status,
    detail,
    ...extra,
    requestId: c.get("requestId" as never) as string | undefined,
  };
  return new Response(JSON.stringify(body), {
    status,
    // Headers go in the constructor: @hono/node-server's fast path ignores later mutation.
    headers: { "content-type": "application/problem+json", ...headers },
  });
}

/** Renders any thrown value; returns the status and whether it was unexpected (to log). */
export function renderError(c: Context, thrown: unknown): { res: Response; unexpected: boolean } {
  const err = fromDbError(thrown);
  if (err instanceof AppError) {
    const { errors, ...rest } = err.extra;
    const headers: Record<string, string> = err.code === "UNAVAILABLE" ? { "retry-after": "5" } : {};
    const res = problem(c, statusOf(err.code), err.message, { ...(errors ? { errors } : {}), ...publicExtra(rest) }, headers);
    return { res, unexpected: false };
  }
  if (thrown instanceof HTTPException) {
    const status = thrown.status;
    const detail = status === 413 ? "request body too large" : thrown.message || TITLES[status] || "error";
    return { res: problem(c, status, detail), unexpected: false };
  }
  return { res: problem(c, 500, "internal error; see the server log with this requestId"), unexpected: true };
}

/** Extra fields safe to show (never a cause, constraint text is fine). */
function publicExtra(extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(extra)) {
    if (k === "cause") continue;
    out[k] = v;
  }
  return out;
}
