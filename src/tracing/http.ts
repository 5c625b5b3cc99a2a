/**
 * HTTP server spans from the route layer: one SERVER span per request, a child of the caller's
 * `traceparent` when it sent one, named after the matched route (`POST /api/tasks`, not the path
 * with its ids), and active while the handlers run, so a task created by the request stores this
 * span's context. Without an SDK the middleware only calls next().
 */
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { parseTraceparent, tracer, tracingEnabled } from "./index.js";

/** Hono middleware that traces each request (mount it before the routes). */
export function httpSpans(): MiddlewareHandler {
  return async (c, next) => {
    if (!tracingEnabled()) return next();
    const remote = parseTraceparent(c.req.header("traceparent"));
    const parent = remote ? trace.setSpanContext(ROOT_CONTEXT, remote) : ROOT_CONTEXT;
    const method = c.req.method;
    const span = tracer().startSpan(
      method,
      { kind: SpanKind.SERVER, attributes: { "http.request.method": method, "url.path": c.req.path } },
      parent,
    );
    try {
      await context.with(trace.setSpan(parent, span), next);
      // the last route that matched is the handler's (middleware paths are "*" or "/api/*")
      const route = matchedRoutes(c).filter((r) => r.method !== "ALL").at(-1)?.path;
      if (route) {
        span.updateName(`${method} ${route}`);
        span.setAttribute("http.route", route);
      }
      span.setAttribute("http.response.status_code", c.res.status);
      if (c.res.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
      throw err;
    } finally {
      span.end();
    }
  };
}
