/**
 * (a) Enqueue. baton over HTTP (one API-only instance: WORKER_ENABLED=false, so no worker
 * competes for the 2 cores, like the in-process adds which run with no worker either), against
 * graphile-worker addJob / addJobs and pg-boss send / insert called in-process:
 *   - single creates from `singleClients` concurrent clients;
 *   - batches of 1,000 and 10,000 per request / call.
 * Each repetition starts from empty tables.
 */
import type { BenchOptions } from "./options.js";
import { call } from "./http.js";
import { stopAll } from "./proc.js";
import { measure, noteMemory, type Results } from "./results.js";
import type { Baton, Boss, Graphile, System } from "./systems.js";

type Enqueue = (n: number) => Promise<void>;

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
async function batches(total: number, size: number, clients: number, add: Enqueue): Promise<number> {
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

async function repeat(sys: System, reps: number, warm: () => Promise<unknown>, run: () => Promise<number>): Promise<number[]> {
  await sys.reset();
  await warm();
  const out: number[] = [];
  for (let i = 0; i < reps; i++) {
    await sys.reset();
    await sys.admin`checkpoint`.catch(() => {}); // start every repetition from the same WAL state
    out.push(await run());
  }
  return out;
}

export async function enqueueStage(o: BenchOptions, r: Results, systems: { baton: Baton; gw?: Graphile; boss?: Boss }, logDir: string, say: (s: string) => void) {
  const { baton, gw, boss } = systems;
  const singleCase = `single creates, ${o.singleClients} clients`;
  const cases = [singleCase, "batch of 1,000", "batch of 10,000"];
  for (const c of cases) r.enqueue[c] ??= {};

  // baton over HTTP
  const [inst] = await baton.startWorkers({ label: "baton api", system: "baton", env: { WORKER_ENABLED: "false" } }, 1, logDir);
  const url = String(inst.ready.url);
  const createOne = () => call(`${url}/api/tasks`, "POST", { type: "noop", title: "bench" }, [201]);
  const createBatch = (n: number) =>
    call(`${url}/api/tasks/batch`, "POST", { tasks: Array.from({ length: n }, () => ({ type: "noop", title: "bench" })) }, [200]).then(() => {});
  try {
    say("  baton: single creates over HTTP");
    r.enqueue[singleCase].baton = measure(
      await repeat(baton, o.reps, () => singles(1000, o.singleClients, createOne), () => singles(o.singleCount, o.singleClients, createOne)),
      "tasks/s",
    );
    for (const size of [1000, 10000]) {
      say(`  baton: batches of ${size} over HTTP`);
      r.enqueue[`batch of ${size.toLocaleString("en-US")}`].baton = measure(
        await repeat(baton, o.reps, () => batches(size, size, 1, createBatch), () => batches(o.batchTotal, size, o.batchClients, createBatch)),
        "tasks/s",
      );
    }
  } finally {
    noteMemory(r, "baton (API only, enqueue)", await stopAll([inst]));
  }

  if (gw) {
    say("  graphile-worker: addJob / addJobs in-process");
    const addOne = () => gw.utils.addJob("noop", {});
    const addMany = (n: number) => gw.utils.addJobs(Array.from({ length: n }, () => ({ identifier: "noop", payload: {} }))).then(() => {});
    r.enqueue[singleCase]["graphile-worker"] = measure(
      await repeat(gw, o.reps, () => singles(1000, o.singleClients, addOne), () => singles(o.singleCount, o.singleClients, addOne)),
      "jobs/s",
      "addJob",
    );
    for (const size of [1000, 10000]) {
      r.enqueue[`batch of ${size.toLocaleString("en-US")}`]["graphile-worker"] = measure(
        await repeat(gw, o.reps, () => batches(size, size, 1, addMany), () => batches(o.batchTotal, size, o.batchClients, addMany)),
        "jobs/s",
        "addJobs",
      );
    }
  }

  if (boss) {
    say("  pg-boss: send / insert in-process");
    const sendOne = () => boss.boss.send("noop", {});
    const insertMany = (n: number) => boss.boss.insert("noop", Array.from({ length: n }, () => ({ data: {} }))).then(() => {});
    r.enqueue[singleCase]["pg-boss"] = measure(
      await repeat(boss, o.reps, () => singles(1000, o.singleClients, sendOne), () => singles(o.singleCount, o.singleClients, sendOne)),
      "jobs/s",
      "send",
    );
    for (const size of [1000, 10000]) {
      r.enqueue[`batch of ${size.toLocaleString("en-US")}`]["pg-boss"] = measure(
        await repeat(boss, o.reps, () => batches(size, size, 1, insertMany), () => batches(o.batchTotal, size, o.batchClients, insertMany)),
        "jobs/s",
        "insert",
      );
    }
  }
}
