/**
 * (b2) Queues, baton only: what first-class queues (migrations/0011_queues.sql) cost a drain.
 * One baton instance at the processing stage's concurrency drains `drainCount` no-op tasks, in
 * three cases run in the same rounds (the order rotates each round, so none always runs first):
 *   plain:        no queue, as in (b);
 *   100 queues:   the tasks round-robin over 100 queues with a baton.queues row, concurrency 10
 *                 each (1,000 slots together, so the queues never hold the pool back);
 *   rate-limited: one queue whose rate limit (1,000,000 starts per second) and concurrency
 *                 (10,000, the maximum) are far above what the instance reaches, so only the
 *                 cost of the gate and the start ledger is measured, not a limit.
 * Queued tasks enter as `waiting` and baton.admit releases them; the clock runs from the
 * enqueue's commit until nothing is waiting, queued or running. Each case is reported with its
 * Postgres CPU and WAL per task and its ratio to the plain drain of the same rounds. Goal: at most
 * 20 % slower than plain (a goal to report, not a test).
 */
import type { Bench } from "./context.js";
import { perTask, startMeter, type TaskCost } from "./cpu.js";
import type { Child } from "./proc.js";
import { stopAll } from "./proc.js";
import { checkBaton, costLine, drain } from "./processing.js";
import { doing } from "./progress.js";
import { measure, medianCost, noteConfig, noteMemory } from "./results.js";
import { fmt } from "./stats.js";

interface QueueCase {
  name: string;
  setup: string;
  rows: { name: string; concurrency: number; rateLimit?: { limit: number; perSeconds: number } }[];
}

const MANY = Array.from({ length: 100 }, (_, i) => ({ name: `bench-q${String(i).padStart(3, "0")}`, concurrency: 10 }));
const RATE = { limit: 1_000_000, perSeconds: 1 };

export const QUEUE_CASES: QueueCase[] = [
  { name: "plain", setup: "no queue (as in (b))", rows: [] },
  { name: "100 queues", setup: "round-robin over 100 queues, concurrency 10 each", rows: MANY },
  {
    name: "rate-limited queue",
    setup: `one queue, rate limit ${fmt(RATE.limit)} per ${RATE.perSeconds} s, concurrency 10,000`,
    rows: [{ name: "bench-rate", concurrency: 10_000, rateLimit: RATE }],
  },
];

export async function queuesStage({ o, r, named, configs, logDir, say, server, save }: Bench) {
  const cfg = configs.find((c) => c.label === "baton") ?? configs.find((c) => c.system === "baton");
  if (!cfg) {
    say("  no baton configuration in this run: skipped");
    return;
  }
  const sys = named.baton;
  const opts = (c: QueueCase) => (c.rows.length ? { queues: c.rows.map((q) => q.name) } : undefined);
  say(`  ${cfg.label}, 1 instance: warm-up, then ${o.reps} rounds of ${QUEUE_CASES.length} drains of ${fmt(o.drainCount)} (${QUEUE_CASES.map((c) => c.name).join(", ")})`);
  await sys.reset();
  let children: Child[] = [];
  try {
    children = await sys.startWorkers(cfg, 1, logDir);
    noteConfig(r, cfg, children);
    const pids = children.map((c) => c.proc.pid ?? 0);
    for (const c of QUEUE_CASES) {
      await sys.reset();
      await sys.setQueues(c.rows);
      await drain(sys, Math.min(o.drainWarmup, o.drainCount), undefined, opts(c));
    }
    const rates: Record<string, number[]> = Object.fromEntries(QUEUE_CASES.map((c) => [c.name, []]));
    const costs: Record<string, TaskCost[]> = Object.fromEntries(QUEUE_CASES.map((c) => [c.name, []]));
    for (let i = 0; i < o.reps; i++) {
      const order = QUEUE_CASES.map((_, k) => QUEUE_CASES[(k + i) % QUEUE_CASES.length]);
      for (const c of order) {
        doing(`queues, round ${i + 1} of ${o.reps}: ${c.name}, draining ${fmt(o.drainCount)}`);
        // the rows go in on the empty table; truncate fires no row triggers, so set them after
        await sys.reset();
        await sys.setQueues(c.rows);
        await sys.admin`checkpoint`.catch(() => {});
        const d = await drain(sys, o.drainCount, () => startMeter(server, pids), opts(c));
        rates[c.name].push(d.rate);
        if (d.usage) costs[c.name].push(perTask(d.usage, o.drainCount));
        try {
          // the queues were in force: every task carried one, each with its baton.queues row
          const [q] = await sys.admin`
            select count(distinct t.queue)::int as used, count(distinct q.name)::int as rows
            from baton.tasks t left join baton.queues q on q.name = t.queue`;
          r.checks.push(`queues, ${c.name}, round ${i + 1}: ${await checkBaton(sys, o.drainCount)}; ${q.used} queues used, ${q.rows} with a row`);
        } catch (err) {
          // a bookkeeping fault is reported, and the other cases still measured
          r.errors.push(`(b2) queues, ${c.name}, round ${i + 1}: ${(err as Error).message}`);
        }
      }
    }
    const plain = measure(rates.plain, "tasks/s").median;
    for (const c of QUEUE_CASES) {
      const m = measure(rates[c.name], "tasks/s");
      const ratio = c.name === "plain" ? null : m.median / plain;
      r.queues[c.name] = { setup: c.setup, rate: m, cost: medianCost(costs[c.name]), ratioToPlain: ratio };
      say(`    ${c.name}: ${rates[c.name].map((x) => fmt(x)).join(", ")} tasks/s${ratio === null ? "" : ` (${ratio.toFixed(2)}× plain)`}; ${costLine(r.queues[c.name].cost)}`);
    }
  } finally {
    noteMemory(r, cfg.label, await stopAll(children));
    await sys.reset();
    await sys.setQueues([]);
    save();
  }
}
