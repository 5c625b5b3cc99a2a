/**
 * The steady mixed load: creates over HTTP at a set rate, spread round-robin over the live
 * instances (what a load balancer with health checks does). Of every ten tasks seven succeed,
 * two fail half their attempts and are retried, one fails every attempt and ends failed. Above
 * BATCH_ABOVE tasks a second the creates go as /api/tasks/batch requests, ten a second, so the
 * harness's own request rate stays small next to the instances.
 *
 * Besides the tasks, a running workflow (setWorkflowRate): small dependency graphs created as one
 * /api/tasks/batch each, with refs (workflowTasks). Their ids are kept apart from the tasks' (in
 * `flows`, not `acks`), so the task figures keep their meaning; their answers are answers like any.
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
  /** the request created a workflow */
  workflow?: true;
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

export type FlowKind = "diamond" | "failing";

/** A workflow the load created: its tasks' ids in batch order and the status each should end in. */
export interface FlowAck {
  t: number;
  n: number;
  kind: FlowKind;
  ids: number[];
  expected: ("completed" | "failed" | "canceled")[];
}

/** Of every five workflows four are diamonds, one has a parent that fails for good. */
const FAILING_EVERY = 5;

/**
 * Workflow n of the load, as a batch. A diamond: split → part-1, part-2, part-3 → join, each a
 * 20–80 ms simulate; part-2 fails 30 % of its attempts and has 8 (a failure for good is 0.3⁸, so
 * it still completes and the join runs). A failing one: split fails both its attempts, its "cancel"
 * child is canceled by it and its "continue" child runs anyway.
 */
export function workflowTasks(n: number): { kind: FlowKind; tasks: Record<string, unknown>[]; expected: FlowAck["expected"] } {
  const run = { minMs: 20, maxMs: 80 };
  const task = (ref: string, extra: Record<string, unknown> = {}) => ({ ref, type: "simulate", title: `torture flow ${n} ${ref}`, payload: run, ...extra });
  if (n % FAILING_EVERY === FAILING_EVERY - 1) {
    return {
      kind: "failing",
      tasks: [
        task("split", { payload: { ...run, failProbability: 1 }, maxAttempts: 2, backoff: { baseMs: 100, maxMs: 200 } }),
        task("cancel", { dependsOn: ["split"], onParentFailure: "cancel" }),
        task("continue", { dependsOn: ["split"], onParentFailure: "continue" }),
      ],
      expected: ["failed", "canceled", "completed"],
    };
  }
  return {
    kind: "diamond",
    tasks: [
      task("split"),
      task("part-1", { dependsOn: ["split"] }),
      task("part-2", { dependsOn: ["split"], payload: { ...run, failProbability: 0.3 }, maxAttempts: 8, backoff: { baseMs: 100, maxMs: 400 } }),
      task("part-3", { dependsOn: ["split"] }),
      task("join", { dependsOn: ["part-1", "part-2", "part-3"], onParentFailure: "cancel" }),
    ],
    expected: ["completed", "completed", "completed", "completed", "completed"],
  };
}

/** The answer to a create: one task's id, or a batch's ids and refs. */
interface Created {
  id?: number;
  ids?: number[];
  refs?: Record<string, number>;
}

export class Load {
  readonly answers: Answer[] = [];
  readonly acks: Ack[] = [];
  /** workflows acknowledged (their tasks are not in acks) */
  readonly flows: FlowAck[] = [];
  private rate = 0;
  private flowRate = 0;
  private flowCredit = 0;
  private flowSeq = 0;
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

  /** Workflows per second from now on (0: none, the default); the task rate does not change it. */
  setWorkflowRate(perSecond: number): void {
    this.flowRate = perSecond;
  }

  /** Tasks of the acknowledged workflows. */
  get flowTasks(): number {
    return this.flows.reduce((n, f) => n + f.ids.length, 0);
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
      this.flowCredit += (this.flowRate * (now - last)) / 1000;
      last = now;
      for (; this.flowCredit >= 1; this.flowCredit--) this.sendWorkflow();
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

  private sendWorkflow(): void {
    const urls = this.targets();
    if (urls.length === 0) return;
    const base = urls[this.turn++ % urls.length];
    const n = this.flowSeq++;
    const flow = workflowTasks(n);
    // the ids by ref (the answer's refs), so each lines up with the status it should end in
    const refs = flow.tasks.map((x) => String(x.ref));
    const record = (body: Created, t: number) => this.flows.push({ t, n, kind: flow.kind, ids: refs.map((r, i) => body.refs?.[r] ?? body.ids?.[i] ?? Number.NaN), expected: flow.expected });
    const p = this.request(base, flow.tasks, record).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  /** One create request; `flow` marks a workflow's batch and takes its ids instead of acks. */
  private async request(base: string, tasks: Record<string, unknown>[], flow?: (body: Created, t: number) => void): Promise<void> {
    const t = Date.now();
    const t0 = performance.now();
    const single = tasks.length === 1 && !flow;
    const marker = flow ? { workflow: true as const } : {};
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
        const body = JSON.parse(text) as Created;
        const at = Date.now();
        if (flow) flow(body, at);
        else for (const id of single ? [body.id as number] : (body.ids ?? [])) this.acks.push({ id, t: at });
        this.answers.push({ t, base, ms, status: res.status, ...marker });
        return;
      }
      const type = res.headers.get("content-type") ?? "";
      let detail = "";
      try {
        detail = String((JSON.parse(text) as { detail?: string }).detail ?? "");
      } catch {}
      const shape = type.startsWith("application/problem+json") ? "problem+json" : type || "no content-type";
      this.answers.push({ t, base, ms, status: res.status, kind: `${res.status} ${shape}: ${detail.slice(0, 80)}`, ...marker });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      const kind = e.name === "TimeoutError" ? `no answer within ${HANG_MS / 1000} s` : `no answer: ${e.cause?.code ?? e.message}`;
      this.answers.push({ t, base, ms: performance.now() - t0, status: 0, kind, ...marker });
    }
  }
}
