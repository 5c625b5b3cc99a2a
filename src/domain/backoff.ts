/**
 * Retry backoff, owned by baton (graphile-worker's fixed exp(attempts) seconds is not used):
 * delay = min(maxMs, baseMs * 2^(attempt-1)), then "equal jitter": a random point in the upper
 * half, so gaps still grow from attempt to attempt while instances do not retry in lockstep.
 */
import type { Backoff } from "../db/types.js";

export const DEFAULT_BACKOFF: Backoff = { baseMs: 1000, maxMs: 3_600_000 };

export function backoffDelayMs(attempt: number, backoff: Backoff, random: () => number = Math.random): number {
  const exp = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, attempt - 1));
  const half = exp / 2;
  return Math.round(half + random() * half);
}
