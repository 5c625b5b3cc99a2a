/**
 * `baton/client`: a typed client of baton's HTTP API. The types are generated from /openapi.json
 * (src/client/openapi.ts, openapi-typescript); the calls go through openapi-fetch. Every method
 * resolves to the response body and throws a BatonProblem on an error answer.
 *
 * It imports nothing of Node: fetch, ReadableStream, TextDecoder, AbortController and timers are
 * all it uses, so it runs in Node 22+ and in a browser bundle alike (test/client.test.ts bundles it
 * for the browser platform and fails on any Node built-in).
 *
 * ```ts
 * const baton = createClient({ baseUrl: "http://127.0.0.1:3000", apiKey: process.env.BATON_API_KEY });
 * const task = await baton.createAndWait({ type: "simulate", payload: { durationMs: 500 } });
 * for await (const t of baton.iterate("/api/tasks", { params: { query: { status: "failed" } } })) console.log(t.id);
 * const { refs } = await baton.createWorkflow([
 *   { ref: "split", type: "simulate" },
 *   { ref: "join", type: "simulate", dependsOn: ["split"] },
 * ]);
 * await baton.waitForTask(refs.join);
 * ```
 */
import { context, isSpanContextValid, trace } from "@opentelemetry/api";
import createFetchClient, { type Client, type ClientPathsWithMethod, type FetchResponse, type MaybeOptionalInit } from "openapi-fetch";
import { parseJson, readEvents, type ServerEvent } from "./events.js";
import type { components, paths } from "./openapi.js";
import { formatTraceparent } from "../tracing/index.js";
import { BatonProblem, BatonTimeout } from "./problem.js";

export type { components, operations, paths } from "./openapi.js";
export { BatonProblem, BatonTimeout, type FieldError, type Problem } from "./problem.js";
export type { ServerEvent } from "./events.js";

type Schemas = components["schemas"];
export type Task = Schemas["Task"];
export type TaskDetail = Schemas["TaskDetail"];
export type TaskLog = Schemas["TaskLog"];
export type Schedule = Schemas["Schedule"];
export type CreateTask = Schemas["CreateTask"];
export type BatchCreate = Schemas["BatchCreate"];
export type BatchResult = Schemas["BatchResult"];
export type Status = Schemas["Status"];
export type TaskStatus = Task["status"];
/** The last ctx.progress() of a task (`{percent, message, at}`), or null. */
export type Progress = Schemas["Progress"];
export type WorkflowGraph = Schemas["WorkflowGraph"];

/**
 * One task of createWorkflow: a CreateTask whose `ref` names it within the workflow and whose
 * `dependsOn` gives parents by ref (a task of the same call) or by id (a task that exists).
 * `R` is the union of the refs: a `dependsOn` ref that no task of the call carries does not compile
 * when the refs are literals (NoInfer keeps `dependsOn` from widening `R`).
 */
export type WorkflowTask<R extends string = string> = Omit<CreateTask, "ref" | "dependsOn"> & {
  ref?: R;
  dependsOn?: readonly (number | NoInfer<R>)[];
};

/** What createWorkflow resolves to: the batch's counts and ids, and each ref's task id. */
export interface Workflow<R extends string = string> {
  created: number;
  duplicates: number;
  /** Ids of the created tasks, in the order they were given (duplicates left out). */
  ids: number[];
  /** Each ref and the id of its task (the existing task's, for a duplicate dedupeKey). */
  refs: Record<R, number>;
}

/** Statuses a task leaves only through an explicit retry. */
export const TERMINAL_STATUSES: readonly TaskStatus[] = ["completed", "failed", "canceled"];

export interface ClientOptions {
  /** Where baton listens, e.g. http://127.0.0.1:3000 ("" in a page served by baton itself). */
  baseUrl: string;
  /** An API key; sent as `Authorization: Bearer <key>`. */
  apiKey?: string;
  /** Headers for every request. */
  headers?: Record<string, string>;
  /** A fetch to use instead of the global one. */
  fetch?: typeof globalThis.fetch;
}

export interface WaitOptions {
  /** Give up after this long with a BatonTimeout (default 60 s). */
  timeoutMs?: number;
  /**
   * true (default): re-read the task whenever the /events stream announces a change, with a slow
   * poll behind it. false, or when the stream cannot be opened: a poll every `pollMs`.
   */
  live?: boolean;
  /** Poll interval: default 500 ms without the stream, 5 s behind it. */
  pollMs?: number;
  signal?: AbortSignal;
}

export interface FollowOptions {
  /** Only this task's rows. */
  taskId?: number;
  /** How many of the latest rows to yield first (default 10). Ignored when `since` is given. */
  backlog?: number;
  /** Yield every row created from this instant on (ISO 8601) instead of a backlog. */
  since?: string;
  signal?: AbortSignal;
}

type Method = "get" | "put" | "post" | "patch" | "delete";
type PathsWith<M extends Method> = ClientPathsWithMethod<Client<paths>, M>;
type Init<P extends keyof paths, M extends Method> = MaybeOptionalInit<paths[P], M>;
/** The init argument: optional when the operation needs neither parameters nor a body. */
type InitArgs<I> = undefined extends I ? [init?: I] : [init: I];
type Data<P extends keyof paths, M extends Method, I> = NonNullable<FetchResponse<paths[P][M] & Record<string | number, unknown>, I, "application/json">["data"]>;
/** The body of a 2xx answer; undefined for a 204. */
type Body<P extends keyof paths, M extends Method, I> = [Data<P, M, I>] extends [never] ? undefined : Data<P, M, I>;
type Call<M extends Method> = <P extends PathsWith<M>, I extends Init<P, M>>(url: P, ...init: InitArgs<I>) => Promise<Body<P, M, I>>;

type PageOf<P extends keyof paths> = paths[P] extends { get: { responses: { 200: { content: { "application/json": infer B } } } } } ? B : never;
/** The list operations paged by `nextCursor`. */
export type ListPath = { [P in PathsWith<"get">]: PageOf<P> extends { items: unknown[]; nextCursor: string | null } ? P : never }[PathsWith<"get">];
type ItemOf<P extends ListPath> = PageOf<P> extends { items: (infer T)[] } ? T : never;

/** How far back each look for new log rows reaches: a row is committed after its created_at. */
const LOG_SLACK_MS = 10_000;
/** Behind the event stream, log rows are also looked for this often (notes change no task row). */
const LOG_POLL_MS = 2000;

export type BatonClient = ReturnType<typeof createClient>;

/** A client for one baton instance (or a load balancer in front of several). */
export function createClient(options: ClientOptions) {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const headers: Record<string, string> = { ...options.headers };
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
  const fetchImpl = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init));
  const raw = createFetchClient<paths>({ baseUrl, headers, fetch: (req) => fetchImpl(req) });
  // The caller's active trace context goes along as `traceparent` (W3C), so the task baton creates
  // remembers it and its attempts link back to the caller's trace. With no OpenTelemetry SDK
  // registered there is no active span and nothing is added.
  raw.use({
    onRequest({ request }) {
      if (request.headers.has("traceparent")) return request;
      const sc = trace.getSpanContext(context.active());
      if (sc && isSpanContextValid(sc)) request.headers.set("traceparent", formatTraceparent(sc));
      return request;
    },
  });

  const call =
    <M extends Method>(method: M): Call<M> =>
    async (url, ...init) => {
      const request = raw.request as (m: string, u: string, i?: unknown) => Promise<{ data?: unknown; error?: unknown; response: Response }>;
      const r = await request(method, url as string, init[0]);
      if (!r.response.ok) throw BatonProblem.from(r.response, r.error);
      return r.data as never;
    };
  const GET = call("get");
  const POST = call("post");

  /** The live /events stream (Server-Sent Events) until `signal` aborts or the server ends it. */
  async function* events(opts: { signal?: AbortSignal } = {}): AsyncGenerator<ServerEvent> {
    const res = await fetchImpl(`${baseUrl}/events`, { headers: { ...headers, accept: "text/event-stream" }, signal: opts.signal });
    if (!res.ok || !res.body) {
      const text = await res.text().catch(() => "");
      throw BatonProblem.from(res, parseJson(text));
    }
    yield* readEvents(res.body);
  }

  /** Wakes a waiter on every event of the stream, from the first ("hello") on; errors end it quietly. */
  function wakeOnEvents(signal: AbortSignal) {
    const state = { woken: false, wake: () => {} };
    void (async () => {
      try {
        for await (const _ of events({ signal })) {
          state.woken = true;
          state.wake();
        }
      } catch {
        // No stream (dashboard off, old server, a proxy): the poll alone carries on.
      }
    })();
    /** Resolves at the next event (at once if one came since the last call), after `ms`, or on abort. */
    const next = (ms: number) =>
      new Promise<void>((resolve) => {
        if (state.woken || signal.aborted) return resolve();
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener("abort", done);
          state.wake = () => {};
          resolve();
        };
        const timer = setTimeout(done, ms);
        state.wake = done;
        signal.addEventListener("abort", done, { once: true });
      }).then(() => {
        state.woken = false;
      });
    return next;
  }

  /** Walks a list across its cursor pages, yielding item after item. */
  async function* iterate<P extends ListPath>(path: P, ...init: InitArgs<Init<P, "get">>): AsyncGenerator<ItemOf<P>> {
    const base = (init[0] ?? {}) as { params?: { query?: Record<string, unknown>; path?: unknown } } & Record<string, unknown>;
    let cursor: string | undefined;
    for (;;) {
      const query = { ...base.params?.query, ...(cursor ? { cursor } : {}) };
      const page = (await (GET as (u: string, i: unknown) => Promise<unknown>)(path, { ...base, params: { ...base.params, query } })) as {
        items: ItemOf<P>[];
        nextCursor: string | null;
      };
      yield* page.items;
      if (!page.nextCursor) return;
      cursor = page.nextCursor;
    }
  }

  /**
   * Resolves with the task once it is completed, failed or canceled. Throws BatonTimeout when
   * `timeoutMs` passes first, and the signal's reason when `signal` aborts.
   */
  async function waitForTask(id: number, opts: WaitOptions = {}): Promise<TaskDetail> {
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const live = opts.live ?? true;
    const pollMs = opts.pollMs ?? (live ? 5000 : 500);
    const stop = new AbortController();
    const onAbort = () => stop.abort(opts.signal?.reason);
    if (opts.signal?.aborted) throw opts.signal.reason;
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      stop.abort();
    }, timeoutMs);
    const next = live ? wakeOnEvents(stop.signal) : null;
    let last = "unknown";
    try {
      for (;;) {
        let task: TaskDetail;
        try {
          task = await GET("/api/tasks/{id}", { params: { path: { id } }, signal: stop.signal });
        } catch (err) {
          if (stop.signal.aborted) break;
          throw err;
        }
        last = task.status;
        if (TERMINAL_STATUSES.includes(task.status)) return task;
        if (next) await next(pollMs);
        else await sleep(pollMs, stop.signal);
        if (stop.signal.aborted) break;
      }
      if (timedOut) throw new BatonTimeout(id, last, timeoutMs);
      throw opts.signal?.reason ?? new Error("aborted");
    } finally {
      clearTimeout(timer);
      stop.abort();
      opts.signal?.removeEventListener("abort", onAbort);
    }
  }

  /**
   * Execution log rows as they are written, oldest first: the latest `backlog` rows, then each new
   * row once. Woken by the /events stream, with a look every 2 s behind it (a handler's note
   * changes no task row, so it is announced by no event). Each look reads the rows of the last
   * 10 s, since a row is committed a moment after its created_at; rows seen already are skipped.
   * Ends when `signal` aborts.
   */
  async function* followLogs(opts: FollowOptions = {}): AsyncGenerator<TaskLog> {
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    const next = wakeOnEvents(stop.signal);
    const taskId = opts.taskId;
    const seen = new Map<number, number>();
    const window = (since: string | undefined) => iterate("/api/task-logs", { params: { query: { taskId, since, limit: 1000 } }, signal: stop.signal });
    let mark: number | null = opts.since ? Date.parse(opts.since) - LOG_SLACK_MS : null;
    try {
      let first: TaskLog[] = [];
      if (mark === null) {
        const backlog = Math.max(0, opts.backlog ?? 10);
        const latest = await GET("/api/task-logs", { params: { query: { taskId, limit: Math.max(1, backlog) } }, signal: stop.signal });
        if (latest.items.length) {
          mark = Date.parse(latest.items[0].createdAt);
          for await (const row of window(new Date(mark - LOG_SLACK_MS).toISOString())) seen.set(row.id, Date.parse(row.createdAt));
        }
        first = backlog ? latest.items.slice().reverse() : [];
      }
      for (const row of first) {
        seen.set(row.id, Date.parse(row.createdAt));
        yield row;
      }
      while (!stop.signal.aborted) {
        const fresh: TaskLog[] = [];
        for await (const row of window(mark === null ? undefined : new Date(mark - LOG_SLACK_MS).toISOString())) {
          if (!seen.has(row.id)) fresh.push(row);
        }
        fresh.sort((a, b) => a.id - b.id);
        for (const row of fresh) {
          const at = Date.parse(row.createdAt);
          seen.set(row.id, at);
          mark = Math.max(mark ?? at, at);
          yield row;
        }
        for (const [id, at] of seen) if (mark !== null && at < mark - LOG_SLACK_MS) seen.delete(id);
        await next(LOG_POLL_MS);
      }
    } catch (err) {
      if (!stop.signal.aborted) throw err;
    } finally {
      stop.abort();
      opts.signal?.removeEventListener("abort", onAbort);
    }
  }

  return {
    /** The openapi-fetch client itself: `{ data, error, response }` instead of throwing. */
    raw,
    GET,
    POST,
    PUT: call("put"),
    PATCH: call("patch"),
    DELETE: call("delete"),
    events,
    iterate,
    waitForTask,
    followLogs,
    /** Creates a task and resolves with it once it has ended (see waitForTask). */
    async createAndWait(task: CreateTask, opts: WaitOptions & { idempotencyKey?: string } = {}): Promise<TaskDetail> {
      const created = await POST("/api/tasks", {
        body: task,
        headers: opts.idempotencyKey ? { "idempotency-key": opts.idempotencyKey } : {},
        signal: opts.signal,
      });
      return waitForTask(created.id, opts);
    },
    /**
     * Creates up to 10,000 tasks in one statement; duplicates are counted, not inserted. Tasks may
     * carry a `ref` and name each other in `dependsOn` (see createWorkflow for the typed form).
     */
    batch: (body: BatchCreate, opts: { signal?: AbortSignal } = {}): Promise<BatchResult> => POST("/api/tasks/batch", { body, signal: opts.signal }),
    /**
     * Creates a workflow: the tasks in one batch (one transaction), each waiting for the parents its
     * `dependsOn` names by ref or id, and resolves with the id of every ref. An unknown ref, a
     * cycle or a parent id that does not exist is a 400 BatonProblem whose `errors` name the field
     * (`tasks.2.dependsOn.0`), and nothing is created.
     */
    async createWorkflow<const R extends string>(
      tasks: readonly WorkflowTask<R>[],
      opts: { dedupe?: BatchCreate["dedupe"]; signal?: AbortSignal } = {},
    ): Promise<Workflow<R>> {
      const body: BatchCreate = { tasks: tasks.map((t) => ({ ...t, dependsOn: t.dependsOn ? [...t.dependsOn] : undefined })) };
      if (opts.dedupe) body.dedupe = opts.dedupe;
      const r = await POST("/api/tasks/batch", { body, signal: opts.signal });
      return { created: r.created, duplicates: r.duplicates, ids: r.ids, refs: (r.refs ?? {}) as Record<R, number> };
    },
    /** The workflow `id` belongs to: every task connected to it by dependencies, and the edges (from: parent, to: child). */
    graph: (id: number, opts: { signal?: AbortSignal } = {}): Promise<WorkflowGraph> => GET("/api/tasks/{id}/graph", { params: { path: { id } }, signal: opts.signal }),
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

