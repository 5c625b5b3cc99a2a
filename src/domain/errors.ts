/**
 * The one application error. The API maps codes to HTTP statuses in one switch
 * (src/api/problem.ts); SQLSTATEs are translated at the database edge by fromDbError.
 */
export type ErrorCode =
  | "VALIDATION"
  | "NOT_FOUND"
  | "CONFLICT"
  | "INVALID_STATE"
  | "UNPROCESSABLE"
  | "UNAUTHORIZED"
  | "PAYLOAD_TOO_LARGE"
  | "RATE_LIMITED"
  | "UNAVAILABLE";

export interface FieldError {
  field: string;
  message: string;
}

export class AppError extends Error {
  constructor(
    public readonly code: ErrorCode,
    message: string,
    public readonly extra: { errors?: FieldError[]; [k: string]: unknown } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "AppError";
  }
}

export const notFound = (what: string, id: unknown) => new AppError("NOT_FOUND", `${what} ${id} not found`);

export const invalid = (field: string, message: string) =>
  new AppError("VALIDATION", `${field}: ${message}`, { errors: [{ field, message }] });

/** SQLSTATEs that mean "the database is away": connection failures, shutdown, too many clients. */
const UNAVAILABLE_STATES = new Set(["57P01", "57P02", "57P03", "53300", "08000", "08001", "08003", "08004", "08006"]);
const UNAVAILABLE_ERRNOS = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED", "CONNECT_TIMEOUT"]);

/** True when an error means the database cannot be reached right now. */
export function isUnavailable(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return typeof code === "string" && (UNAVAILABLE_STATES.has(code) || UNAVAILABLE_ERRNOS.has(code));
}

/** Translate a database error into an AppError where it has a meaning for the caller. */
export function fromDbError(err: unknown): unknown {
  if (err instanceof AppError) return err;
  const e = err as { code?: string; message?: string; constraint_name?: string };
  switch (e?.code) {
    case "23505":
      return new AppError("CONFLICT", "a row with the same unique key exists", { constraint: e.constraint_name }, { cause: err });
    case "P0002":
      return new AppError("NOT_FOUND", e.message ?? "not found", {}, { cause: err });
    case "BT409":
      return new AppError("INVALID_STATE", e.message ?? "invalid state", {}, { cause: err });
    case "22P05":
    case "22021":
      return new AppError("VALIDATION", "text contains characters Postgres cannot store (such as \\u0000)", {}, { cause: err });
    case "23503":
      return new AppError("VALIDATION", "a referenced row does not exist", { constraint: e.constraint_name }, { cause: err });
    case "40001":
    case "40P01":
      return new AppError("UNAVAILABLE", "transient conflict, retry the request", {}, { cause: err });
  }
  if (isUnavailable(err)) return new AppError("UNAVAILABLE", "database unavailable", {}, { cause: err });
  return err;
}
