/**
 * BatonProblem: an error answer of baton's API as a typed error, carrying the RFC 9457
 * problem+json fields (type, title, status, detail, errors, requestId). An answer that is not
 * problem+json (a proxy's HTML 502, say) becomes one too, its detail taken from the body's text.
 */
import type { components } from "./openapi.js";

export type Problem = components["schemas"]["Problem"];
export type FieldError = NonNullable<Problem["errors"]>[number];

export class BatonProblem extends Error implements Problem {
  override readonly name = "BatonProblem";
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly errors?: FieldError[];
  readonly requestId?: string;
  /** Every field of the problem document as received, extensions included. */
  readonly body: Record<string, unknown>;

  constructor(problem: Problem & Record<string, unknown>) {
    super(`${problem.status} ${problem.title}: ${problem.detail}`);
    this.type = problem.type;
    this.title = problem.title;
    this.status = problem.status;
    this.detail = problem.detail;
    if (problem.errors) this.errors = problem.errors;
    if (problem.requestId) this.requestId = problem.requestId;
    this.body = problem;
  }

  /** The problem an error answer carries; `parsed` is the body openapi-fetch already read. */
  static from(response: Response, parsed: unknown): BatonProblem {
    if (isProblem(parsed)) return new BatonProblem(parsed);
    const text = typeof parsed === "string" ? parsed : parsed === undefined ? "" : JSON.stringify(parsed);
    return new BatonProblem({
      type: "about:blank",
      title: response.statusText || "Error",
      status: response.status,
      detail: text.slice(0, 500) || `HTTP ${response.status} without a problem document`,
      requestId: response.headers.get("x-request-id") ?? undefined,
    });
  }
}

function isProblem(v: unknown): v is Problem & Record<string, unknown> {
  if (typeof v !== "object" || v === null) return false;
  const p = v as Record<string, unknown>;
  return typeof p.status === "number" && typeof p.title === "string" && typeof p.detail === "string";
}

/** A wait that ran out of time before the task ended. */
export class BatonTimeout extends Error {
  override readonly name = "BatonTimeout";
  constructor(
    readonly taskId: number,
    readonly lastStatus: string,
    timeoutMs: number,
  ) {
    super(`task ${taskId} still ${lastStatus} after ${timeoutMs} ms`);
  }
}
