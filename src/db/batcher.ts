/**
 * Gathers concurrent calls into one database statement, the way graphile-worker batches job
 * completions. Callers `push(item)` and get their own result once the statement that carried it
 * has committed. A flush happens on the next turn of the event loop (or after `delayMs`), or as
 * soon as `maxSize` items wait.
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
  private readonly retryForMs: number;

  constructor(private readonly opts: BatcherOptions<I, R>) {
    this.maxSize = opts.maxSize ?? 500;
    this.delayMs = opts.delayMs ?? 0;
    this.retryForMs = opts.retryForMs ?? 0;
  }

  push(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.queue.length >= this.maxSize) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        if (this.delayMs > 0) setTimeout(() => this.flush(), this.delayMs);
        else setImmediate(() => this.flush());
      }
    });
  }

  /** Resolves when every batch handed to the database so far has settled. */
  async drain(): Promise<void> {
    this.flush();
    while (this.inflight.size) await Promise.allSettled([...this.inflight]);
  }

  private flush(): void {
    this.scheduled = false;
    if (this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.maxSize);
    const p = this.execute(batch).finally(() => this.inflight.delete(p));
    this.inflight.add(p);
    if (this.queue.length && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
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
