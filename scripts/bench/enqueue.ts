/**
 * (a) Enqueue. baton over HTTP (one API-only instance: WORKER_ENABLED=false, so no worker
 * competes for the 2 cores, like the in-process adds which run with no worker either), against
 * graphile-worker addJob / addJobs, pg-boss send / insert and BullMQ add / addBulk called
 * in-process:
 *   - single creates from `singleClients` concurrent clients;
 *   - batches of 1,000 and 10,000 per request / call.
 * Each repetition starts from empty tables; its Postgres CPU and WAL are divided by the tasks.
 */
import type { Bench } from "./context.js";
import { perTask, startMeter, type TaskCost } from "./cpu.js";
import { call } from "./http.js";
import type { BenchOptions } from "./options.js";
import type { Server } from "./postgres.js";
import { stopAll } from "./proc.js";
import { measure, medianCost, noteMemory, type Results } from "./results.js";
import { fmt } from "./stats.js";
import { BOSS_QUEUE, type System } from "./systems.js";

/** Runs `total` single adds from `clients` concurrent loops; returns adds per second. */
async function singles(total: number, clients: number, add: () => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < total) {
        next++;
        await add();
      }
    }),
  );
  return total / ((performance.now() - t0) / 1000);
}

/** Runs `total` items in batches of `size` from `clients` concurrent loops; returns items per second. */
async function batches(total: number, size: number, clients: number, add: (n: number) => Promise<unknown>): Promise<number> {
  let left = total;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (left > 0) {
        const n = Math.min(size, left);
        left -= n;
        await add(n);
      }
    }),
  );
  return total / ((performance.now() - t0) / 1000);
}

/** How one system creates jobs: one at a time, and n at once. */
interface Adders {
  label: string;
  one: () => Promise<unknown>;
  many: (n: number) => Promise<unknown>;
  notes: [string, string];
}

async function runSystem(o: BenchOptions, r: Results, sys: System, a: Adders, server: Server, say: (s: string) => void) {
  const singleCase = `single creates, ${o.singleClients} clients`;
  const cases: { name: string; warm: () => Promise<unknown>; run: () => Promise<number>; count: number; note: string }[] = [
    { name: singleCase, warm: () => singles(Math.min(1000, o.singleCount), o.singleClients, a.one), run: () => singles(o.singleCount, o.singleClients, a.one), count: o.singleCount, note: a.notes[0] },
    ...[1000, 10000].map((size) => ({
      name: `batch of ${size.toLocaleString("en-US")}`,
      warm: () => batches(size, size, 1, a.many),
      run: () => batches(o.batchTotal, size, o.batchClients, a.many),
      count: o.batchTotal,
      note: a.notes[1],
    })),
  ];
  for (const c of cases) {
    say(`  ${a.label}: ${c.name}`);
    await sys.reset();
    await c.warm();
    const rates: number[] = [];
    const costs: TaskCost[] = [];
    for (let i = 0; i < o.reps; i++) {
      await sys.reset();
      await sys.admin`checkpoint`.catch(() => {}); // start every repetition from the same WAL state
      const read = await startMeter(server, []);
      rates.push(await c.run());
      costs.push(perTask(await read(), c.count));
    }
    r.enqueue[c.name] ??= {};
    r.enqueue[c.name][sys.name] = measure(rates, sys.name === "baton" ? "tasks/s" : "jobs/s", c.note);
    r.enqueueCost[c.name] ??= {};
    r.enqueueCost[c.name][sys.name] = medianCost(costs);
    const cost = r.enqueueCost[c.name][sys.name];
    say(`    ${rates.map((x) => fmt(x)).join(", ")} /s; per task: Postgres ${cost.postgresUs === null ? "–" : `${fmt(cost.postgresUs)} µs`} CPU, ${fmt(cost.walBytes)} B WAL`);
  }
}

export async function enqueueStage({ o, r, named, logDir, say, server }: Bench) {
  const { baton, gw, boss, bull } = named;
  const [inst] = await baton.startWorkers({ label: "baton api", system: "baton", env: { WORKER_ENABLED: "false" }, settings: "", source: "" }, 1, logDir);
  const url = String(inst.ready.url);
  try {
    await runSystem(o, r, baton, {
      label: "baton over HTTP",
      one: () => call(`${url}/api/tasks`, "POST", { type: "noop", title: "bench" }, [201]),
      many: (n) => call(`${url}/api/tasks/batch`, "POST", { tasks: Array.from({ length: n }, () => ({ type: "noop", title: "bench" })) }, [200]),
      notes: ["POST /api/tasks", "POST /api/tasks/batch"],
    }, server, say);
  } finally {
    noteMemory(r, "baton (API only, enqueue)", await stopAll([inst]));
  }
  if (gw) {
    await runSystem(o, r, gw, {
      label: "graphile-worker in-process",
      one: () => gw.utils.addJob("noop", {}),
      many: (n) => gw.utils.addJobs(Array.from({ length: n }, () => ({ identifier: "noop", payload: {} }))),
      notes: ["addJob", "addJobs"],
    }, server, say);
  }
  if (boss) {
    await runSystem(o, r, boss, {
      label: "pg-boss in-process",
      one: () => boss.boss.send(BOSS_QUEUE, {}),
      many: (n) => boss.boss.insert(BOSS_QUEUE, Array.from({ length: n }, () => ({ data: {} }))),
      notes: ["send", "insert"],
    }, server, say);
  }
  if (bull) {
    await runSystem(o, r, bull, {
      label: "BullMQ in-process",
      one: () => bull.queue.add("noop", {}),
      many: (n) => bull.queue.addBulk(Array.from({ length: n }, () => ({ name: "noop", data: {} }))),
      notes: ["add", "addBulk"],
    }, server, say);
  }
}
