/**
 * Progress output of a run: every line carries the seconds since the start, and a heartbeat
 * repeats the current activity whenever nothing was printed for a few seconds, so no stage (a
 * 1M-row build, a slow drain, tsc) is ever silent for more than 5 s.
 */

const SILENCE_MS = 3_500; // checked every second: a line at most ~4.5 s after the previous one

let t0 = Date.now();
let lastLine = Date.now();
let activity = "starting";
let activitySince = Date.now();
let timer: NodeJS.Timeout | undefined;

const stamp = () => `[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s]`;

/** Prints one progress line; it also becomes the activity the heartbeat repeats. */
export function say(s: string): void {
  process.stdout.write(`${stamp()} ${s}\n`);
  lastLine = Date.now();
  activity = s.trim();
  activitySince = lastLine;
}

/** Names what is going on now without printing it; the heartbeat shows it if the wait is long. */
export function doing(s: string): void {
  activity = s.trim();
  activitySince = Date.now();
}

/** Starts the heartbeat (idempotent); the clock of every line starts at `start`. */
export function startProgress(start: number): void {
  t0 = start;
  if (timer) return;
  timer = setInterval(() => {
    if (Date.now() - lastLine < SILENCE_MS) return;
    process.stdout.write(`${stamp()}   … ${activity} (${Math.round((Date.now() - activitySince) / 1000)} s)\n`);
    lastLine = Date.now();
  }, 1000);
  timer.unref();
}

export function stopProgress(): void {
  if (timer) clearInterval(timer);
  timer = undefined;
}
