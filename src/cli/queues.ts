/**
 * `baton queues list|set|pause|resume`: a queue's concurrency, rate limit and pause switch
 * (DESIGN.md "Flow control"), through GET /api/queues, GET/PUT /api/queues/{name} and
 * POST /api/queues/{name}/pause|resume.
 */
import type { components } from "../client/index.js";
import { type Command, type Context, int, print, UsageError } from "./command.js";
import { table } from "./format.js";

type Queue = components["schemas"]["Queue"];
type PutQueueBody = components["schemas"]["PutQueueBody"];
type RateLimit = components["schemas"]["RateLimit"];

/** `10/1s`: the same L/S shape `--rate-limit` takes, with the unit spelled out. */
const rate = (r: RateLimit | null | undefined) => (r ? `${r.limit}/${r.perSeconds}s` : "-");

const QUEUE_COLUMNS = ["NAME", "CONCURRENCY", "RATE LIMIT", "PAUSED", "WAITING", "PENDING", "RUNNING", "STARTED/MIN"];
const queueRow = (q: Queue) => [
  q.name,
  // A queue with tasks but no row runs with the defaults; say so rather than look configured.
  q.configured ? q.concurrency : `${q.concurrency} (default)`,
  rate(q.rateLimit),
  q.paused ? "yes" : "no",
  q.waiting,
  q.pending,
  q.running,
  q.startedLastMinute,
];

const summary = (q: Queue) => `queue ${q.name}: concurrency ${q.concurrency}, rate limit ${q.rateLimit ? rate(q.rateLimit) : "none"}, ${q.paused ? "paused" : "not paused"}`;

/** `--rate-limit L/S` as the API's rateLimit; `none` clears it. Bounds are the server's to check. */
export function parseRateLimit(v: string): RateLimit | null {
  if (v === "none") return null;
  const m = /^(\d+)\/(\d+)$/.exec(v);
  if (!m) throw new UsageError("--rate-limit must be L/S (e.g. 10/1: at most 10 starts per 1 s) or none");
  return { limit: Number(m[1]), perSeconds: Number(m[2]) };
}

function parsePaused(v: string | boolean | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  if (v === "true" || v === "false") return v === "true";
  throw new UsageError("--paused must be true or false");
}

/** The queue's settings with the flags given applied; the flags are checked before any request. */
function changes(ctx: Context): Partial<PutQueueBody> {
  const f = ctx.flags;
  const change: Partial<PutQueueBody> = {};
  const concurrency = int("concurrency", f.concurrency);
  if (concurrency !== undefined) change.concurrency = concurrency;
  if (typeof f["rate-limit"] === "string") change.rateLimit = parseRateLimit(f["rate-limit"]);
  const paused = parsePaused(f.paused);
  if (paused !== undefined) change.paused = paused;
  if (Object.keys(change).length === 0) throw new UsageError("give at least one of --concurrency, --rate-limit, --paused");
  return change;
}

const queueAction = (verb: "pause" | "resume"): Command => ({
  name: `queues ${verb}`,
  args: ["NAME"],
  summary: verb === "pause" ? "Stop new starts of a queue's tasks on every instance (running ones finish)" : "Let a paused queue's tasks start again, within its limits",
  options: {},
  run: async (ctx) => {
    const params = { params: { path: { name: ctx.args[0] } } };
    const q = await ctx.client().POST(verb === "pause" ? "/api/queues/{name}/pause" : "/api/queues/{name}/resume", params);
    return print(ctx, q, () => summary(q));
  },
});

export const QUEUE_COMMANDS: Command[] = [
  {
    name: "queues list",
    args: [],
    summary: "Queues with their limits and live counts",
    options: {},
    help: ["RATE LIMIT L/Ss: at most L starts in any S seconds. '(default)': the queue has tasks but no settings of its own."],
    run: async (ctx) => {
      const list = await ctx.client().GET("/api/queues");
      return print(ctx, list, () => `${table(QUEUE_COLUMNS, list.items.map(queueRow))}\n${list.items.length} queue${list.items.length === 1 ? "" : "s"}`);
    },
  },
  {
    name: "queues set",
    args: ["NAME"],
    summary: "Change a queue's concurrency, rate limit or paused flag",
    options: { concurrency: { type: "string" }, "rate-limit": { type: "string" }, paused: { type: "string" } },
    help: [
      "--concurrency N      at most N tasks of the queue run at once, across all instances (1-10000)",
      "--rate-limit L/S     at most L starts in any window of S seconds: 10/1 is ten a second,",
      "                     100/60 a hundred a minute",
      "--rate-limit none    remove the rate limit",
      "--paused true|false  true: no new task of the queue starts (as queues pause does)",
      "",
      "Only the settings named change. The queue is read first and the merged settings are sent",
      "(the API's PUT replaces all of them), so `queues set q --concurrency 3` keeps q's rate limit",
      "and paused flag. A queue without settings starts from the defaults: concurrency 1, no rate",
      "limit, not paused. Two changes at the same moment: the last one written wins.",
    ],
    run: async (ctx) => {
      const change = changes(ctx);
      const c = ctx.client();
      const params = { params: { path: { name: ctx.args[0] } } };
      const current = await c.GET("/api/queues/{name}", params);
      const body: PutQueueBody = { concurrency: current.concurrency, rateLimit: current.rateLimit ?? null, paused: current.paused, ...change };
      const q = await c.PUT("/api/queues/{name}", { ...params, body });
      return print(ctx, q, () => summary(q));
    },
  },
  queueAction("pause"),
  queueAction("resume"),
];
