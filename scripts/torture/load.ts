/**
 * The steady mixed load: creates over HTTP at a set rate, spread round-robin over the live
 * instances (what a load balancer with health checks does). Of every ten tasks seven succeed,
 * two fail half their attempts and are retried, one fails every attempt and ends failed. Above
 * BATCH_ABOVE tasks a second the creates go as /api/tasks/batch requests, ten a second, so the
 * harness's own request rate stays small next to the instances.
 *
 * Every answer is recorded (time, latency, status, kind); every acknowledged id with the time it
 * was acknowledged. A request that gets no answer within 10 s is aborted and recorded as a hang.
 */

const TICK_MS = 100;
const BATCH_ABOVE = 40;
/** An answer later than this is a hang (the "never a hang past 10 s"). */
export const HANG_MS = 10_000;

export interface Answer {
  /** epoch ms when the request was sent */
  t: number;
  /** the instance it went to */
  base: string;
  ms: number;
  /** HTTP status; 0 when no answer came (timeout, refused) */
  status: number;
  /** for anything but 2xx: what it was, e.g. "503 problem+json: database unavailable" */
  kind?: string;
}

export interface Ack {
  id: number;
  t: number;
}

/** One task of the mix, by its sequence number. */
export function mixTask(i: number): Record<string, unknown> {
  const k = i % 10;
  const run = { minMs: 20, maxMs: 80 };
  if (k < 7) return { type: "simulate", title: `torture ok ${i}`, payload: run };
  if (k < 9) {
    return { type: "simulate", title: `torture retried ${i}`, payload: { ...run, failProbability: 0.5 }, maxAttempts: 5, backoff: { baseMs: 200, maxMs: 1000 } };
  }
  return { type: "simulate", title: `torture failing ${i}`, payload: { ...run, failProbability: 1 }, maxAttempts: 2, backoff: { baseMs: 200, maxMs: 500 } };
}

export class Load {
  readonly answers: Answer[] = [];
  readonly acks: Ack[] = [];
  private rate = 0;
  private timer: NodeJS.Timeout | null = null;
  private issued = 0;
  private seq = 0;
  private credit = 0;
  private turn = 0;
  private inFlight = new Set<Promise<void>>();

  /** @param targets base URLs of the instances that are up now (asked at every request) */
  constructor(private readonly targets: () => string[]) {}

  /** Tasks per second from now on. */
  setRate(perSecond: number): void {
    this.rate = perSecond;
  }

  get currentRate(): number {
    return this.rate;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  start(perSecond: number): void {
    this.rate = perSecond;
    if (this.timer) return;
    let last = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      this.credit += (this.rate * (now - last)) / 1000;
      last = now;
      const n = Math.floor(this.credit);
      if (n <= 0) return;
      this.credit -= n;
      if (this.rate > BATCH_ABOVE) this.send(n);
      else for (let i = 0; i < n; i++) this.send(1);
    }, TICK_MS);
  }

  /** Stops creating and waits for the requests in flight. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.all([...this.inFlight]);
  }

  get created(): number {
    return this.issued;
  }

  private send(n: number): void {
    const urls = this.targets();
    if (urls.length === 0) return;
    const base = urls[this.turn++ % urls.length];
    const tasks = Array.from({ length: n }, () => mixTask(this.seq++));
    this.issued += n;
    const p = this.request(base, tasks).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  private async request(base: string, tasks: Record<string, unknown>[]): Promise<void> {
    const t = Date.now();
    const t0 = performance.now();
    const single = tasks.length === 1;
    try {
      const res = await fetch(`${base}${single ? "/api/tasks" : "/api/tasks/batch"}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(single ? tasks[0] : { tasks }),
        signal: AbortSignal.timeout(HANG_MS),
      });
      const text = await res.text();
      const ms = performance.now() - t0;
      if (res.ok) {
        const body = JSON.parse(text) as { id?: number; ids?: number[] };
        const at = Date.now();
        for (const id of single ? [body.id as number] : (body.ids ?? [])) this.acks.push({ id, t: at });
        this.answers.push({ t, base, ms, status: res.status });
        return;
      }
      const type = res.headers.get("content-type") ?? "";
      let detail = "";
      try {
        detail = String((JSON.parse(text) as { detail?: string }).detail ?? "");
      } catch {}
      const shape = type.startsWith("application/problem+json") ? "problem+json" : type || "no content-type";
      this.answers.push({ t, base, ms, status: res.status, kind: `${res.status} ${shape}: ${detail.slice(0, 80)}` });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      const kind = e.name === "TimeoutError" ? `no answer within ${HANG_MS / 1000} s` : `no answer: ${e.cause?.code ?? e.message}`;
      this.answers.push({ t, base, ms: performance.now() - t0, status: 0, kind });
    }
  }
}
