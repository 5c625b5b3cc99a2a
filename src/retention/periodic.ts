/**
 * A background pass on a timer: the first after a delay, then one every intervalMs after the
 * last has ended, never two at once on one instance. runOnce() runs a pass now or joins the one
 * already running; stop() cancels the timer and waits for a running pass. The timer does not
 * keep the process alive.
 */
export class Periodic<T> {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<T> | null = null;
  private stopping = false;

  constructor(
    private readonly intervalMs: number,
    private readonly pass: () => Promise<T>,
    private readonly onError: (err: Error) => void,
  ) {}

  /** True once stop() was called: a long pass checks it between its steps. */
  get stopped(): boolean {
    return this.stopping;
  }

  /** Schedules the first pass; an interval of 0 or less never runs one. */
  start(firstDelayMs: number): void {
    if (this.intervalMs > 0) this.schedule(firstDelayMs);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => {});
  }

  /** One pass now (`pass` instead of the usual one), or the pass already running. */
  runOnce(pass: () => Promise<T> = this.pass): Promise<T> {
    this.running ??= pass().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private schedule(ms: number): void {
    if (this.stopping) return;
    this.timer = setTimeout(() => {
      this.runOnce()
        .catch((err) => this.onError(err as Error))
        .finally(() => this.schedule(this.intervalMs));
    }, ms);
    this.timer.unref();
  }
}
