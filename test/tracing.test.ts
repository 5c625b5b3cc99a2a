/**
 * Tracing (src/tracing): the caller's traceparent stored at create, one baton.attempt span per
 * attempt linked to it with the outcome as its status, HTTP server spans, and nothing created
 * while no SDK is registered. Real service in-process, real Postgres, the SDK's in-memory exporter.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { type Context, type ContextManager, context, ProxyTracer, ROOT_CONTEXT, SpanStatusCode, trace } from "@opentelemetry/api";
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { sql } from "kysely";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { createClient } from "../src/client/index.js";
import { formatTraceparent, parseTraceparent } from "../src/tracing/index.js";
import { PermanentError, RetryableError } from "../src/worker/errors.js";
import { registerTaskType } from "../src/worker/registry.js";
import { api, serviceForFile, waitFor } from "./helpers/service.js";

registerTaskType({
  name: "test.flaky",
  description: "Fails (retryably) until its attempt reaches succeedOn; succeedOn 0 never succeeds.",
  params: z.object({ succeedOn: z.number().int().min(0) }),
  handler: async (p, ctx) => {
    if (p.succeedOn === 0 || ctx.attempt < p.succeedOn) throw new RetryableError(`attempt ${ctx.attempt} fails`);
    return { attempt: ctx.attempt };
  },
});
registerTaskType({
  name: "test.permanent",
  description: "Always fails permanently.",
  params: z.object({}),
  handler: async () => {
    throw new PermanentError("bad input");
  },
});

/** What an SDK's Node setup brings: the active context follows async calls (AsyncLocalStorage). */
class AsyncContextManager implements ContextManager {
  private readonly als = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.als.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.als.run(ctx, () => fn.apply(thisArg, args));
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.als.disable();
    return this;
  }
}

const s = serviceForFile({ WORKER_CONCURRENCY: "4" });

async function finished(id: number): Promise<string> {
  return waitFor(
    async () => {
      const r = await api(s.svc.url, "GET", `/api/tasks/${id}`);
      return ["completed", "failed"].includes(r.body.status) ? r.body.status : null;
    },
    { what: `task ${id} to finish` },
  );
}

async function storedTraceparent(id: number): Promise<string | null> {
  const r = await sql<{ traceparent: string | null }>`select traceparent from baton.tasks where id = ${id}`.execute(s.tdb.database.db);
  return r.rows[0].traceparent;
}

describe("with no SDK registered", () => {
  afterEach(() => vi.restoreAllMocks());

  it("stores the request's traceparent and creates no span object on the create or attempt path", async () => {
    // Every span baton could make goes through a tracer: the global API's getTracer, or a
    // ProxyTracer handed out earlier. Neither may be reached while nothing is registered.
    const getTracer = vi.spyOn(trace, "getTracer");
    const startSpan = vi.spyOn(ProxyTracer.prototype, "startSpan");
    const startActive = vi.spyOn(ProxyTracer.prototype, "startActiveSpan");
    const header = "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01";
    const created = await api(s.svc.url, "POST", "/api/tasks", { type: "test.flaky", payload: { succeedOn: 2 }, backoff: { baseMs: 1, maxMs: 5 } }, { traceparent: header });
    expect(created.status).toBe(201);
    expect(await finished(created.body.id)).toBe("completed");
    expect(await storedTraceparent(created.body.id)).toBe(header.toLowerCase());
    expect(getTracer).not.toHaveBeenCalled();
    expect(startSpan).not.toHaveBeenCalled();
    expect(startActive).not.toHaveBeenCalled();
  });

  it("ignores a malformed traceparent (W3C: start a new trace) instead of storing it", async () => {
    for (const bad of ["00-00000000000000000000000000000000-00f067aa0ba902b7-01", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "hello"]) {
      const created = await api(s.svc.url, "POST", "/api/tasks", { type: "noop" }, { traceparent: bad });
      expect(created.status).toBe(201);
      expect(await storedTraceparent(created.body.id)).toBeNull();
    }
  });
});

describe("with an SDK registered (in-memory exporter)", () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

  beforeAll(() => {
    expect(context.setGlobalContextManager(new AsyncContextManager())).toBe(true);
    expect(trace.setGlobalTracerProvider(provider)).toBe(true);
  });
  afterAll(async () => {
    trace.disable();
    context.disable();
    await provider.shutdown();
  });

  const attemptSpans = (taskId: number) =>
    exporter
      .getFinishedSpans()
      .filter((sp) => sp.name === "baton.attempt" && sp.attributes["task.id"] === taskId)
      .sort((a, b) => Number(a.attributes.attempt) - Number(b.attributes.attempt));

  async function spansOf(taskId: number, n: number): Promise<ReadableSpan[]> {
    const spans = await waitFor(() => (attemptSpans(taskId).length >= n ? attemptSpans(taskId) : null), { what: `${n} attempt span(s) of task ${taskId}` });
    return spans ?? [];
  }

  it("an HTTP create under an active span: the server span is its child, the attempt span links to that trace", async () => {
    const tracer = trace.getTracer("test");
    const { id, caller } = await tracer.startActiveSpan("caller", async (span) => {
      const r = await api(s.svc.url, "POST", "/api/tasks", { type: "noop", queue: "traced" }, { traceparent: formatTraceparent(span.spanContext()) });
      span.end();
      return { id: r.body.id as number, caller: span.spanContext() };
    });
    expect(await finished(id)).toBe("completed");
    const [attempt, ...more] = await spansOf(id, 1);
    expect(more).toHaveLength(0);

    const server = exporter.getFinishedSpans().find((sp) => sp.name === "POST /api/tasks" && sp.spanContext().traceId === caller.traceId);
    expect(server, "an HTTP server span in the caller's trace").toBeDefined();
    expect(server?.parentSpanContext?.spanId).toBe(caller.spanId);
    expect(server?.attributes["http.response.status_code"]).toBe(201);

    // The task stores the server span's context: the attempt links to the request that made it.
    expect(await storedTraceparent(id)).toBe(formatTraceparent(server!.spanContext()));
    expect(attempt.links.map((l) => l.context.traceId)).toEqual([caller.traceId]);
    expect(attempt.links[0].context.spanId).toBe(server?.spanContext().spanId);
    expect(attempt.spanContext().traceId).not.toBe(caller.traceId); // linked, not a child
    expect(attempt.attributes).toMatchObject({ "task.id": id, "task.type": "noop", attempt: 1, queue: "traced", instance: s.svc.config.INSTANCE_ID });
    expect(attempt.status.code).toBe(SpanStatusCode.OK);
  });

  it("the TypeScript client forwards the active span's context: the task's attempt links to the caller's trace", async () => {
    const tracer = trace.getTracer("test");
    const client = createClient({ baseUrl: s.svc.url });
    const { id, caller } = await tracer.startActiveSpan("client caller", async (span) => {
      const t = await client.POST("/api/tasks", { body: { type: "noop" } });
      span.end();
      return { id: t.id, caller: span.spanContext() };
    });
    expect(parseTraceparent(await storedTraceparent(id))?.traceId).toBe(caller.traceId);
    const [attempt] = await spansOf(id, 1);
    expect(attempt.links.map((l) => l.context.traceId)).toEqual([caller.traceId]);
  });

  it("an in-process create under an active span stores that span's context", async () => {
    const tracer = trace.getTracer("test");
    const { id, caller } = await tracer.startActiveSpan("in-process caller", async (span) => {
      const t = await s.svc.creator.createOne({ type: "noop" } as Parameters<typeof s.svc.creator.createOne>[0]);
      span.end();
      return { id: t.id, caller: span.spanContext() };
    });
    expect(await storedTraceparent(id)).toBe(formatTraceparent(caller));
    const [attempt] = await spansOf(id, 1);
    expect(attempt.links[0].context).toMatchObject({ traceId: caller.traceId, spanId: caller.spanId });
    expect(attempt.attributes.queue).toBeUndefined();
  });

  it("a retried task has one span per attempt, each with its outcome as status", async () => {
    const header = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const traceId = parseTraceparent(header)?.traceId;
    const ok = await api(s.svc.url, "POST", "/api/tasks", { type: "test.flaky", payload: { succeedOn: 3 }, maxAttempts: 3, backoff: { baseMs: 1, maxMs: 5 } }, { traceparent: header });
    const never = await api(s.svc.url, "POST", "/api/tasks", { type: "test.flaky", payload: { succeedOn: 0 }, maxAttempts: 2, backoff: { baseMs: 1, maxMs: 5 } });
    const permanent = await api(s.svc.url, "POST", "/api/tasks", { type: "test.permanent", maxAttempts: 5 });
    expect(await finished(ok.body.id)).toBe("completed");
    expect(await finished(never.body.id)).toBe("failed");
    expect(await finished(permanent.body.id)).toBe("failed");

    const okSpans = await spansOf(ok.body.id, 3);
    expect(okSpans.map((sp) => sp.attributes.attempt)).toEqual([1, 2, 3]);
    expect(okSpans.map((sp) => sp.status.code)).toEqual([SpanStatusCode.ERROR, SpanStatusCode.ERROR, SpanStatusCode.OK]);
    expect(okSpans.map((sp) => sp.attributes["baton.outcome"])).toEqual(["retry", "retry", "succeeded"]);
    expect(okSpans[0].status.message).toBe("retry: attempt 1 fails");
    for (const sp of okSpans) expect(sp.links.map((l) => l.context.traceId)).toEqual([traceId]);

    const neverSpans = await spansOf(never.body.id, 2);
    expect(neverSpans.map((sp) => [sp.attributes.attempt, sp.attributes["baton.outcome"], sp.status.code])).toEqual([
      [1, "retry", SpanStatusCode.ERROR],
      [2, "failed", SpanStatusCode.ERROR],
    ]);
    // Sent without a traceparent: the request's own server span (a new trace) is the creating context.
    const neverCreated = parseTraceparent(await storedTraceparent(never.body.id));
    expect(neverCreated?.traceId).not.toBe(traceId);
    for (const sp of neverSpans) expect(sp.links.map((l) => l.context.spanId)).toEqual([neverCreated?.spanId]);

    const permanentSpans = await spansOf(permanent.body.id, 1);
    expect(permanentSpans.map((sp) => [sp.attributes["baton.outcome"], sp.status.message])).toEqual([["failed", "failed: bad input"]]);
    expect(attemptSpans(ok.body.id)).toHaveLength(3); // no extra span appeared meanwhile
  });
});
