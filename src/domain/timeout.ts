/**
 * `p`, or a rejection with `message` once `ms` have passed. `p` itself keeps running: its later
 * rejection is handled here, so the loser of the race never becomes an unhandled rejection (which
 * ends the process, src/main.ts). The timer does not keep the process alive.
 */
export function withTimeout<T>(p: Promise<T>, ms: number, message = `timed out after ${ms} ms`): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
    timer.unref();
  });
  p.catch(() => {});
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
