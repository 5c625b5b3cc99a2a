/** Reasons an attempt ends other than success, and how the runner treats each. */

/** Not retried, whatever attempts are left (bad parameters, a 4xx, a denied address). */
export class PermanentError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PermanentError";
  }
}

/** Retried; `retryAfterMs` (e.g. from a Retry-After header) overrides the backoff when longer. */
export class RetryableError extends Error {
  constructor(message: string, public readonly retryAfterMs?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RetryableError";
  }
}

/** Abort reasons given to a handler's AbortSignal. */
export class CanceledError extends Error {
  constructor() {
    super("canceled");
    this.name = "CanceledError";
  }
}
export class ShutdownError extends Error {
  constructor() {
    super("instance shutting down");
    this.name = "ShutdownError";
  }
}
export class TimeoutError extends Error {
  constructor(ms: number) {
    super(`timed out after ${ms} ms`);
    this.name = "TimeoutError";
  }
}
