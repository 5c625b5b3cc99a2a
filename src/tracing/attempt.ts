/**
 * The `baton.attempt` span: one per attempt, around the handler (payload validation included),
 * linked to the context that created the task and ended with the attempt's outcome as its status.
 * While the handler runs the span is the active one, so spans the handler makes (an outbound
 * call's, its own) are its children.
 */
import { context, type Link, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { Task } from "../db/types.js";
import { CanceledError, PermanentError, ShutdownError, TimeoutError } from "../worker/errors.js";
import { parseTraceparent, tracer, tracingEnabled } from "./index.js";

/** What an attempt's span records of its end, as the worker classifies it. */
export type AttemptSpanOutcome = "succeeded" | "retry" | "failed" | "canceled" | "returned";

/** The outcome the worker will record for an attempt that threw `err` (see WorkerService.execute). */
export function thrownOutcome(err: unknown, task: Pick<Task, "attempts" | "maxAttempts">): AttemptSpanOutcome {
  if (err instanceof CanceledError) return "canceled";
  if (err instanceof ShutdownError) return "returned";
  return err instanceof PermanentError || task.attempts >= task.maxAttempts ? "failed" : "retry";
}

/**
 * Runs one attempt (`run`) inside a `baton.attempt` span when an SDK is registered; otherwise
 * calls `run` and nothing else. `signal` is the attempt's: when it was aborted, its reason is what
 * ended the attempt (cancel, timeout, shutdown), whatever the handler threw.
 */
export async function traceAttempt<T>(task: Task, instanceId: string, signal: AbortSignal, run: () => Promise<T>): Promise<T> {
  if (!tracingEnabled()) return run();
  const created = parseTraceparent(task.traceparent);
  const links: Link[] = created ? [{ context: created }] : [];
  const span = tracer().startSpan("baton.attempt", {
    kind: SpanKind.CONSUMER,
    links,
    attributes: {
      "task.id": task.id,
      "task.type": task.type,
      attempt: task.attempts,
      instance: instanceId,
      // a task outside any queue has no queue attribute rather than an empty one
      ...(task.queue !== null ? { queue: task.queue } : {}),
    },
  });
  try {
    const result = await context.with(trace.setSpan(context.active(), span), run);
    span.setAttribute("baton.outcome", "succeeded");
    span.setStatus({ code: SpanStatusCode.OK });
    return result;
  } catch (thrown) {
    const err = signal.aborted ? signal.reason : thrown;
    const outcome = thrownOutcome(err, task);
    span.setAttribute("baton.outcome", outcome);
    // A task handed back at shutdown did not fail: it runs again elsewhere, its span says so.
    if (outcome !== "returned") {
      span.setStatus({ code: SpanStatusCode.ERROR, message: `${outcome}: ${err instanceof Error ? err.message || err.name : String(err)}` });
      if (err instanceof Error && !(err instanceof CanceledError) && !(err instanceof TimeoutError)) span.recordException(err);
    }
    throw thrown;
  } finally {
    span.end();
  }
}
