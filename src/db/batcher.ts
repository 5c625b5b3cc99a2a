/**
 * Gathers concurrent calls into one database statement, the way graphile-worker batches job
 * completions. Callers `push(item)` and get their own result once the statement that carried it
 * has committed. A flush happens on the next turn of the event loop (or after `delayMs`), or as
 * soon as `maxSize` items wait.
 *
 * `maxInFlight` bounds the statements running at once (group commit): while that many are out,
 * new items wait and leave together as soon as one returns. An idle system flushes at once, so a
 * lone call pays no extra latency, and under load the batches grow by themselves instead of the
 * statements multiplying (16 HTTP clients creating one task each made 16 statements of 1 row
 * without it, and about 2 of 8 with it).
 *
 * Transient failures (deadlock, serialization, database away) are retried with backoff for up to
 * `retryForMs`; any other failure of a multi-item batch is retried item by item so that one bad
 * item cannot fail its neighbours.
 */
import { isUnavailable } from "../domain/errors.js";

export interface BatcherOptions<I, R> {
  /** Runs one batch; returns one result per item, in order. */
  run: (items: I[]) => Promise<R[]>;
  maxSize?: number;
  delayMs?: number;
  /** Statements out at once; further items queue until one returns (default: no limit). */
  maxInFlight?: number;
  retryForMs?: number;
  onRetry?: (err: unknown, attempt: number) => void;
}

interface Pending<I, R> {
  item: I;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

const TRANSIENT = new Set(["40001", "40P01"]);
export const isTransient = (err: unknown) =>
  TRANSIENT.has((err as { code?: string })?.code ?? "") || isUnavailable(err);

export class Batcher<I, R> {
  private queue: Pending<I, R>[] = [];
  private scheduled = false;
  private inflight = new Set<Promise<void>>();
  private readonly maxSize: number;
  private readonly delayMs: number;
  private readonly maxInFlight: number;
  private readonly retryForMs: number;

  constructor(private readonly opts: BatcherOptions<I, R>) {
    this.maxSize = opts.maxSize ?? 500;
    this.delayMs = opts.delayMs ?? 0;
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? Number.POSITIVE_INFINITY);
    this.retryForMs = opts.retryForMs ?? 0;
  }

  push(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.queue.length >= this.maxSize) this.flush();
      else this.schedule();
    });
  }

  /** Resolves when every item pushed so far has been handed to the database and settled. */
  async drain(): Promise<void> {
    this.flush();
    while (this.inflight.size || this.queue.length) {
      if (this.inflight.size) await Promise.allSettled([...this.inflight]);
      else this.flush();
    }
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    if (this.delayMs > 0) setTimeout(() => this.flush(), this.delayMs);
    else setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    if (this.queue.length === 0 || this.inflight.size >= this.maxInFlight) return;
    const batch = this.queue.splice(0, this.maxSize);
    const p: Promise<void> = this.execute(batch).finally(() => {
      this.inflight.delete(p);
      // group commit: whatever queued while this statement ran leaves now
      if (this.queue.length) this.flush();
    });
    this.inflight.add(p);
    if (this.queue.length) this.schedule();
  }

  private async execute(batch: Pending<I, R>[]): Promise<void> {
    try {
      const results = await this.runWithRetry(batch.map((p) => p.item));
      for (const [i, p] of batch.entries()) p.resolve(results[i]);
    } catch (err) {
      if (batch.length === 1 || isTransient(err)) {
        for (const p of batch) p.reject(err);
        return;
      }
      await Promise.all(batch.map((p) => this.execute([p])));
    }
  }

  private async runWithRetry(items: I[]): Promise<R[]> {
    const deadline = Date.now() + this.retryForMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.opts.run(items);
      } catch (err) {
        if (!isTransient(err) || Date.now() >= deadline) throw err;
        this.opts.onRetry?.(err, attempt);
        await new Promise((r) => setTimeout(r, Math.min(5000, 50 * 2 ** Math.min(attempt, 7))));
      }
    }
  }
}
