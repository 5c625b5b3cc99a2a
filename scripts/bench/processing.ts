/**
 * (b) Processing: the workers run (idle, warmed up), `drainCount` no-op jobs are queued in one
 * transaction, and the clock runs from its commit until nothing is queued or running. Every
 * configuration is run with 1 and with 2 instances at the same concurrency per instance.
 * For baton, each repetition is checked afterwards: every task completed, with exactly one
 * `started` and one `succeeded` row.
 */
import type { BenchOptions } from "./options.js";
import type { Child } from "./proc.js";
import { stopAll } from "./proc.js";
import { measure, noteMemory, type Results } from "./results.js";
import { cpuMeter } from "./cpu.js";
import { epochMs, median, until } from "./stats.js";
import type { System, WorkerConfig } from "./systems.js";

/**
 * Queues n jobs in one transaction and waits until all are done; returns jobs per second and,
 * with a meter, the CPU the drain took (the meter starts after the enqueue has committed).
 */
export async function drain(sys: System, n: number, meter?: () => () => { workersMs: number; postgresMs: number }) {
  await sys.enqueueBulk(n);
  const read = meter?.();
  const t0 = epochMs();
  await until(async () => !(await sys.busy()), `${sys.name} to drain ${n}`, 30 * 60_000, 10);
  const rate = n / ((epochMs() - t0) / 1000);
  return { rate, cpu: read?.() };
}

export async function checkBaton(sys: System, n: number): Promise<string> {
  // graphile-worker deletes the finished jobs in its own (batched) completion, just after baton
  // committed the outcome: give it a moment.
  await until(async () => (await sys.admin`select count(*)::int as n from graphile_worker._private_jobs`)[0].n === 0, "job cleanup", 30_000, 20).catch(() => {});
  const [c] = await sys.admin`
    select (select count(*) from baton.tasks)::int as tasks,
           (select count(*) from baton.tasks where status = 'completed' and attempts = 1)::int as completed,
           (select count(*) from baton.task_logs where event = 'started')::int as started,
           (select count(*) from baton.task_logs where event = 'succeeded')::int as succeeded,
           (select count(*) from baton.task_logs)::int as logs,
           (select count(*) from graphile_worker._private_jobs)::int as jobs`;
  const ok = c.tasks === n && c.completed === n && c.started === n && c.succeeded === n && c.logs === 2 * n && c.jobs === 0;
  const line = `${n} tasks: ${c.completed} completed, ${c.started} started rows, ${c.succeeded} succeeded rows, ${c.logs} log rows, ${c.jobs} jobs left`;
  if (!ok) throw new Error(`baton bookkeeping check failed: ${line}`);
  return line;
}

export async function processingStage(
  o: BenchOptions,
  r: Results,
  systems: Record<string, System>,
  configs: WorkerConfig[],
  logDir: string,
  say: (s: string) => void,
  pgDataDir: string | null,
  save: () => void = () => {},
) {
  for (const cfg of configs) {
    const sys = systems[cfg.system];
    r.processing[cfg.label] ??= {};
    for (const instances of [1, 2]) {
      say(`  ${cfg.label}, ${instances} instance(s)`);
      await sys.reset();
      let children: Child[] = [];
      try {
        children = await sys.startWorkers(cfg, instances, logDir);
        await drain(sys, Math.min(5000, o.drainCount)); // warm-up
        const rates: number[] = [];
        const cpuW: number[] = [];
        const cpuP: number[] = [];
        const pids = children.map((c) => c.proc.pid ?? 0);
        for (let i = 0; i < o.reps; i++) {
          await sys.reset();
          await sys.admin`checkpoint`.catch(() => {});
          const d = await drain(sys, o.drainCount, () => cpuMeter(pids, pgDataDir));
          rates.push(d.rate);
          if (d.cpu) {
            cpuW.push((d.cpu.workersMs / o.drainCount) * 1000);
            cpuP.push((d.cpu.postgresMs / o.drainCount) * 1000);
          }
          if (sys.name === "baton") r.checks.push(`${cfg.label} ×${instances}, rep ${i + 1}: ${await checkBaton(sys, o.drainCount)}`);
        }
        r.processing[cfg.label][String(instances)] = measure(rates, "tasks/s");
        r.cpu[cfg.label] ??= {};
        r.cpu[cfg.label][String(instances)] = { workers: Math.round(median(cpuW)), postgres: Math.round(median(cpuP)) };
        say(`    ${rates.map((x) => Math.round(x)).join(", ")} tasks/s; CPU per 1,000 tasks: workers ${Math.round(median(cpuW))} ms, Postgres ${Math.round(median(cpuP))} ms`);
      } finally {
        noteMemory(r, cfg.label, await stopAll(children));
        save();
      }
    }
  }
}
