/**
 * Instance liveness: registers this instance in baton.instances and refreshes heartbeat_at every
 * HEARTBEAT_INTERVAL_MS. A failed beat (database away) is logged and retried on the next tick.
 *
 * The next tick is scheduled when the current one has finished, never on a fixed clock: during an
 * outage a beat can wait for a connection or a row lock far longer than the interval, and a
 * setInterval would start a new one each interval, piling up statements that all run when the
 * database comes back (and holding pool connections meanwhile).
 */
import type { Db } from "../db/client.js";
import { heartbeat, markStopped, registerInstance } from "../db/queries/instances.js";
import type { Logger } from "../log.js";

export class Heartbeat {
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    private readonly info: { id: string; host: string; port: number | null; pid: number; version: string; concurrency: number },
    private readonly intervalMs: number,
  ) {}

  async start(): Promise<void> {
    await registerInstance(this.db, this.info);
    this.stopped = false;
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.inFlight = heartbeat(this.db, this.info.id)
        .catch((err) => this.log.warn({ err: (err as Error).message }, "heartbeat failed"))
        .finally(() => {
          this.inFlight = null;
          this.schedule();
        });
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Ends the ticks (waiting for one under way) and marks the instance stopped. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.inFlight;
    await markStopped(this.db, this.info.id).catch((err) => this.log.warn({ err: (err as Error).message }, "could not mark instance stopped"));
  }
}
