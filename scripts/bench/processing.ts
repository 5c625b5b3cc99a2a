/**
 * (b) Processing: the workers run (idle, warmed up), `drainCount` no-op jobs are queued in one
 * transaction, and the clock runs from its commit until nothing is queued or running. Every
 * configuration is run with 1 and with 2 instances at the same concurrency per instance; each
 * drain's CPU (workers, Postgres) and WAL are divided by the tasks drained.
 * For baton, each repetition is checked afterwards: every task completed in one attempt, with
 * exactly one log row, its `succeeded` outcome row carrying the attempt's start and duration
 * (DESIGN.md invariant 3; no separate `started` row is written).
 */
import type { Bench } from "./context.js";
import { perTask, startMeter, type TaskCost, type Usage } from "./cpu.js";
import type { Child } from "./proc.js";
import { stopAll } from "./proc.js";
import { doing } from "./progress.js";
import { measure, medianCost, noteConfig, noteMemory } from "./results.js";
import { epochMs, fmt, until } from "./stats.js";
import type { EnqueueOptions, System } from "./systems.js";

/**
 * Queues n jobs in one transaction and waits until all are done; returns jobs per second and,
 * with a meter, what the drain cost (the meter starts after the enqueue has committed).
 */
export async function drain(sys: System, n: number, meter?: () => Promise<() => Promise<Usage>>, opts?: EnqueueOptions) {
  await sys.enqueueBulk(n, n, opts);
  const read = await meter?.();
  const t0 = epochMs();
  await until(async () => !(await sys.busy()), `${sys.name} to drain ${n}`, 30 * 60_000, 10);
  const rate = n / ((epochMs() - t0) / 1000);
  return { rate, usage: await read?.() };
}

export async function checkBaton(sys: System, n: number): Promise<string> {
  // graphile-worker deletes the finished jobs in its own (batched) completion, just after baton
  // committed the outcome: give it a moment.
  await until(async () => (await sys.admin`select count(*)::int as n from graphile_worker._private_jobs`)[0].n === 0, "job cleanup", 30_000, 20).catch(() => {});
  const [c] = await sys.admin`
    select (select count(*) from baton.tasks)::int as tasks,
           (select count(*) from baton.tasks where status = 'completed' and attempts = 1)::int as completed,
           (select count(*) from baton.task_logs where event = 'succeeded' and attempt = 1 and instance_id is not null
              and started_at is not null and duration_ms is not null)::int as succeeded,
           (select count(*) from baton.task_logs)::int as logs,
           (select count(*) from graphile_worker._private_jobs)::int as jobs`;
  const ok = c.tasks === n && c.completed === n && c.succeeded === n && c.logs === n && c.jobs === 0;
  const line = `${n} tasks: ${c.completed} completed, ${c.succeeded} complete succeeded rows, ${c.logs} log rows, ${c.jobs} jobs left`;
  if (!ok) throw new Error(`baton bookkeeping check failed: ${line}`);
  return line;
}

/** "Postgres 123 µs, WAL 456 B per task" for progress lines. */
export function costLine(c: TaskCost): string {
  return `per task: Postgres ${c.postgresUs === null ? "–" : `${fmt(c.postgresUs)} µs`} CPU, ${fmt(c.walBytes)} B WAL, workers ${fmt(c.workersUs)} µs CPU`;
}

export async function processingStage({ o, r, systems, configs, logDir, say, server, save }: Bench) {
  for (const cfg of configs) {
    const sys = systems[cfg.system];
    r.processing[cfg.label] ??= {};
    for (const instances of [1, 2]) {
      say(`  ${cfg.label}, ${instances} instance(s): warm-up, then ${o.reps} drains of ${fmt(o.drainCount)}`);
      await sys.reset();
      let children: Child[] = [];
      try {
        children = await sys.startWorkers(cfg, instances, logDir);
        noteConfig(r, cfg, children);
        await drain(sys, Math.min(o.drainWarmup, o.drainCount));
        const rates: number[] = [];
        const costs: TaskCost[] = [];
        const pids = children.map((c) => c.proc.pid ?? 0);
        for (let i = 0; i < o.reps; i++) {
          doing(`${cfg.label} ×${instances}, repetition ${i + 1} of ${o.reps}: draining ${fmt(o.drainCount)}`);
          await sys.reset();
          await sys.admin`checkpoint`.catch(() => {});
          const d = await drain(sys, o.drainCount, () => startMeter(server, pids));
          rates.push(d.rate);
          if (d.usage) costs.push(perTask(d.usage, o.drainCount));
          if (sys.name === "baton") r.checks.push(`${cfg.label} ×${instances}, rep ${i + 1}: ${await checkBaton(sys, o.drainCount)}`);
        }
        r.processing[cfg.label][String(instances)] = measure(rates, "tasks/s");
        r.cpu[cfg.label] ??= {};
        r.cpu[cfg.label][String(instances)] = medianCost(costs);
        say(`    ${rates.map((x) => fmt(x)).join(", ")} tasks/s; ${costLine(r.cpu[cfg.label][String(instances)])}`);
      } finally {
        noteMemory(r, cfg.label, await stopAll(children));
        save();
      }
    }
  }
}
