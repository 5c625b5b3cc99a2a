/**
 * Instance liveness: registers this instance in baton.instances and refreshes heartbeat_at every
 * HEARTBEAT_INTERVAL_MS. A failed beat (database away) is logged and retried on the next tick.
 */
import type { Db } from "../db/client.js";
import { heartbeat, markStopped, registerInstance } from "../db/queries/instances.js";
import type { Logger } from "../log.js";

export class Heartbeat {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    private readonly info: { id: string; host: string; port: number | null; pid: number; version: string; concurrency: number },
    private readonly intervalMs: number,
  ) {}

  async start(): Promise<void> {
    await registerInstance(this.db, this.info);
    this.timer = setInterval(() => {
      heartbeat(this.db, this.info.id).catch((err) => this.log.warn({ err: (err as Error).message }, "heartbeat failed"));
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await markStopped(this.db, this.info.id).catch((err) => this.log.warn({ err: (err as Error).message }, "could not mark instance stopped"));
  }
}
