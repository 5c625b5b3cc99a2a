/**
 * Tracing through @opentelemetry/api only. baton never registers an SDK: an operator who wants
 * traces registers one (README, "Tracing") and baton's spans go to it. Until then every entry
 * point here checks tracingEnabled() first and returns without creating a span object, so the
 * worker's hot path pays one property read per attempt.
 *
 * The caller's context crosses the database as a W3C `traceparent` string on the task row
 * (migration 0012): an attempt may run minutes later on another instance, so it is a link from
 * the attempt span to the creating context, not a parent.
 */
import { ProxyTracerProvider, type SpanContext, TraceFlags, type Tracer, trace } from "@opentelemetry/api";

/** The instrumentation scope of every baton span. */
export const TRACER_NAME = "baton";

// What the global proxy delegates to while no SDK is registered (the API's private no-op provider).
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();

/** True once an SDK has registered a tracer provider (trace.setGlobalTracerProvider). */
export function tracingEnabled(): boolean {
  const provider = trace.getTracerProvider();
  // Another copy of @opentelemetry/api (ESM next to CommonJS) registers its own proxy class.
  if (!(provider instanceof ProxyTracerProvider)) return provider.constructor?.name !== "NoopTracerProvider";
  return provider.getDelegate() !== NOOP_PROVIDER;
}

/** baton's tracer; call only when tracingEnabled(). Looked up per use: SDKs cache it by name. */
export function tracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

// version 00: 2 + 32 + 16 + 2 hex digits; a later version may append fields after a dash.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/**
 * The span context a `traceparent` header names, or null for anything the W3C Trace Context
 * rules say to ignore (wrong shape, version ff, extra fields on version 00, all-zero ids).
 */
export function parseTraceparent(header: string | null | undefined): SpanContext | null {
  if (!header || header.length > 512) return null;
  const m = TRACEPARENT.exec(header.trim().toLowerCase());
  if (!m) return null;
  const [, version, traceId, spanId, flags, rest] = m;
  if (version === "ff" || (version === "00" && rest !== undefined)) return null;
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return null;
  return { traceId, spanId, traceFlags: Number.parseInt(flags, 16) & TraceFlags.SAMPLED, isRemote: true };
}

/** The `traceparent` header (version 00) of a span context. */
export function formatTraceparent(sc: SpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED ? "01" : "00"}`;
}

/**
 * The `traceparent` to store on a task being created: the active span's when there is one (an
 * in-process caller, or the HTTP server span under an SDK), else the request's header when it is
 * valid, else null. Without an SDK there is no active span, so the header is kept as sent
 * (normalised), and a service that registers an SDK later still links to it.
 */
export function creatingTraceparent(header?: string | null): string | null {
  const active = trace.getActiveSpan()?.spanContext();
  if (active && trace.isSpanContextValid(active)) return formatTraceparent(active);
  const given = parseTraceparent(header);
  return given ? formatTraceparent(given) : null;
}
