/**
 * The live-update hub of one instance. It holds ONE `LISTEN baton_events` connection (postgres.js
 * sql.listen), however many browsers are connected, and fans changes out to them over
 * Server-Sent Events.
 *
 * The database sends {"kind":"tasks"} once per statement that changes baton.tasks (and
 * {"kind":"schedules"} for schedules; see migrations/0005_events.sql), but only while some
 * instance has registered open pages in baton.dashboard_watchers: NOTIFY serialises commits, so
 * the worker's hot path should not pay for it while nobody looks. This hub registers when its
 * first client connects and renews the registration (TTL 60 s, renewed every 20 s) while clients
 * remain; a page navigation (close, reopen) stays within one registration. Under load that is many
 * notifications a second, so "tasks" notifications are coalesced: the first one schedules a
 * refresh, later ones before it runs are absorbed, and refreshes are at least `minIntervalMs`
 * apart (250 ms: at most 4 a second). A refresh re-counts tasks by status ONCE and pushes the
 * counts to every client. The gap also grows with the cost of the count (10 x its last duration),
 * so on a huge table the dashboard takes at most ~10% of one backend per instance. With no client
 * connected nothing is queried at all.
 *
 * Other payloads with a `kind` (for example schedule_deactivated from the scheduler) are forwarded
 * as they are, as an SSE event named after the kind.
 */
import type { Db, Sql } from "../db/client.js";
import { unwatchDashboard, watchDashboard } from "../db/queries/dashboard.js";
import { countByStatus } from "../db/queries/tasks.js";
import type { Logger } from "../log.js";
import type { Component } from "../service.js";

export const CHANNEL = "baton_events";

export interface SseClient {
  send(event: string, data: unknown): void;
  close(): void;
}

export interface EventHubOptions {
  /** Minimum gap between two count refreshes. */
  minIntervalMs: number;
  /** Delay before the first refresh of a burst, so a burst's tail is included. */
  settleMs: number;
  /** Lifetime of the watcher registration; renewed every third of it while clients are connected. */
  watchTtlMs: number;
}

type Counts = Awaited<ReturnType<typeof countByStatus>>;
/** Kinds whose payload carries no detail: bursts of them are folded into one refresh. */
type Coalesced = "tasks" | "schedules";

export class EventHub implements Component {
  readonly name = "dashboard-events";
  private readonly clients = new Set<SseClient>();
  private unlisten: (() => Promise<void>) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private renewTimer: NodeJS.Timeout | null = null;
  private watching = false;
  private registering: Promise<void> | null = null;
  private readonly pending = new Set<Coalesced>();
  private lastRefreshAt = 0;
  private lastQueryMs = 0;
  private listening = false;
  private stopped = false;
  /** Counters for GET /api/status (section "dashboard") and the tests. */
  refreshes = 0;
  /** Coalesced refreshes that found no client connected and so queried nothing. */
  idleRefreshes = 0;
  notifications = 0;

  constructor(
    private readonly deps: { sql: Sql; db: Db; log: Logger; instanceId: string },
    private readonly opts: EventHubOptions = { minIntervalMs: 250, settleMs: 30, watchTtlMs: 60_000 },
  ) {}

  async start(): Promise<void> {
    const sub = await this.deps.sql.listen(
      CHANNEL,
      (payload) => this.onNotification(payload),
      () => {
        // Also called after postgres.js re-established a lost LISTEN connection: anything may
        // have changed while it was down, so refresh once.
        if (this.listening) {
          this.changed("tasks");
          this.changed("schedules");
        }
        this.listening = true;
      },
    );
    this.unlisten = () => sub.unlisten();
    this.renewTimer = setInterval(() => {
      if (this.clients.size > 0) void this.watch();
    }, Math.max(100, Math.floor(this.opts.watchTtlMs / 3)));
    this.renewTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.renewTimer = null;
    for (const c of this.clients) c.close();
    this.clients.clear();
    await this.unlisten?.().catch(() => {});
    this.unlisten = null;
    if (this.watching) await unwatchDashboard(this.deps.db, this.deps.instanceId).catch(() => {});
  }

  get clientCount(): number {
    return this.clients.size;
  }

  get closed(): boolean {
    return this.stopped;
  }

  /**
   * Adds an SSE client; resolves (once changes are being announced) to the function that removes
   * it. The first client registers this instance as a watcher before the caller reads the counts
   * it sends first, so no change committed after that read goes unannounced.
   */
  async subscribe(client: SseClient): Promise<() => void> {
    this.clients.add(client);
    // The first client registers; clients arriving meanwhile wait for the same registration.
    if (this.clients.size === 1 || !this.registering) {
      this.registering = this.watch();
    }
    await this.registering;
    return () => {
      this.clients.delete(client);
    };
  }

  private async watch(): Promise<void> {
    try {
      await watchDashboard(this.deps.db, this.deps.instanceId, this.clients.size, this.opts.watchTtlMs);
      this.watching = true;
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message }, "could not register as dashboard watcher; live updates may lag");
    }
  }

  /** Current counts by status (for a client's first message). */
  async counts(): Promise<Counts> {
    return countByStatus(this.deps.db);
  }

  private onNotification(payload: string): void {
    this.notifications++;
    let msg: { kind?: unknown } | null = null;
    try {
      msg = JSON.parse(payload) as { kind?: unknown };
    } catch {
      this.deps.log.debug({ payload: payload.slice(0, 200) }, "ignoring non-JSON baton_events payload");
      return;
    }
    const kind = typeof msg?.kind === "string" && /^[a-z][a-z0-9_]{0,63}$/.test(msg.kind) ? msg.kind : null;
    if (!kind) return;
    if (kind === "tasks" || kind === "schedules") this.changed(kind);
    else this.broadcast(kind, msg);
  }

  /** Schedules one coalesced refresh. */
  private changed(kind: Coalesced): void {
    this.pending.add(kind);
    if (this.timer || this.stopped) return;
    const gap = Math.max(this.opts.minIntervalMs, this.lastQueryMs * 10);
    const wait = Math.max(this.opts.settleMs, this.lastRefreshAt + gap - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.refresh().catch((err) => this.deps.log.warn({ err: (err as Error).message }, "dashboard refresh failed"));
    }, wait);
    this.timer.unref();
  }

  private async refresh(): Promise<void> {
    const kinds = [...this.pending];
    this.pending.clear();
    this.lastRefreshAt = Date.now();
    if (this.clients.size === 0) {
      this.idleRefreshes++;
      return;
    }
    const at = new Date().toISOString();
    if (kinds.includes("schedules")) this.broadcast("schedules", { at, instanceId: this.deps.instanceId });
    if (!kinds.includes("tasks")) return;
    const t0 = performance.now();
    const counts = await this.counts();
    this.lastQueryMs = performance.now() - t0;
    this.lastRefreshAt = Date.now();
    this.refreshes++;
    this.broadcast("tasks", { counts, at, instanceId: this.deps.instanceId });
  }

  private broadcast(event: string, data: unknown): void {
    for (const c of this.clients) {
      try {
        c.send(event, data);
      } catch {
        this.clients.delete(c);
      }
    }
  }
}
