/** Small statistics for benchmark samples: medians of repetitions, percentiles of latencies. */

export function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * The largest sample (NaN for none). A loop, not Math.max(...xs): spreading a few hundred thousand
 * arguments overflows the call stack (a full torture run's overload has 128k latencies).
 */
export function maxOf(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  let m = Number.NEGATIVE_INFINITY;
  for (const x of xs) if (x > m || Number.isNaN(x)) m = x;
  return m;
}

/** Nearest-rank percentile (p in 0..100): the smallest sample with at least p% at or below it. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * s.length));
  return s[Math.min(s.length, rank) - 1];
}

/** Epoch milliseconds with sub-millisecond resolution, comparable across processes on one host. */
/**
 * Wall-clock milliseconds with sub-millisecond steps, comparable across processes. The
 * monotonic clock gives the resolution; the wall clock keeps it honest. `timeOrigin + now()`
 * alone is anchored once, at the process's start, so if the system clock is stepped during a long
 * run, the bench's main process and a worker started later disagree by the step. In one 45-minute
 * run every cross-process latency of every system came out 15.0–15.4 s, which fits such a step.
 * Whenever the two clocks part by more than 1 ms, the monotonic clock is re-anchored to the wall
 * clock.
 */
let anchorWall = Date.now();
let anchorMono = performance.now();
export const epochMs = (): number => {
  const mono = performance.now();
  const t = anchorWall + (mono - anchorMono);
  const wall = Date.now();
  if (Math.abs(t - wall) <= 1) return t;
  anchorWall = wall;
  anchorMono = mono;
  return wall;
};

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls fn every intervalMs until it returns true; throws after timeoutMs. */
export async function until(fn: () => Promise<boolean>, what: string, timeoutMs = 600_000, intervalMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export function fmt(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return "–";
  return n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}
