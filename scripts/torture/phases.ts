/**
 * The phases of a torture run, in the order they run. Each applies its fault and resolves when
 * the fault is over; the runner then gives the cluster its recovery period and measures.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { type Cluster, RECOVERY_WINDOW_MS } from "./cluster.js";
import { exhaustConnections, holdSnapshot, type Sql, terminateBackends } from "./faults.js";
import type { Load } from "./load.js";

export interface PhaseContext {
  cluster: Cluster;
  load: Load;
  sql: Sql;
  /** seconds the long faults last (held snapshot, overload, connection hog) */
  longSeconds: number;
  /** seconds the connection hog holds its slots */
  poolSeconds: number;
  normalRate: number;
  drainRate: number;
  say(m: string): void;
}

export interface FaultResult {
  /** epoch ms of each moment recovery is timed from (the fault cleared, or was dealt) */
  events: number[];
  notes: string[];
  /** an instance this fault killed: requests it had in flight cannot be answered, by design */
  killed?: string;
}

export interface Phase {
  name: string;
  /** what the fault is, for the report */
  fault: string;
  /** longest acceptable seconds to 90 % throughput after each event (the targets) */
  recoveryTargetS?: number;
  apply(ctx: PhaseContext): Promise<FaultResult>;
}

export const PHASES: Phase[] = [
  {
    name: "idle-in-transaction",
    fault: "a REPEATABLE READ transaction holds the xmin horizon",
    async apply(ctx) {
      const held = await holdSnapshot(ctx.cluster.url);
      ctx.say(`holding a snapshot for ${ctx.longSeconds} s`);
      await sleep(ctx.longSeconds * 1000);
      await held.release();
      return { events: [Date.now()], notes: [`snapshot held ${ctx.longSeconds} s`] };
    },
  },
  {
    name: "terminate",
    fault: "pg_terminate_backend on every connection of both instances, 3 times, 10 s apart",
    recoveryTargetS: 10,
    async apply(ctx) {
      const events: number[] = [];
      const counts: number[] = [];
      for (let i = 0; i < 3; i++) {
        if (i > 0) await sleep(10_000);
        events.push(Date.now());
        counts.push(await terminateBackends(ctx.sql, ctx.cluster.database));
        ctx.say(`terminated ${counts.at(-1)} backends (${i + 1}/3)`);
      }
      return { events, notes: [`backends terminated: ${counts.join(", ")}`] };
    },
  },
  {
    name: "restart",
    fault: "pg_ctl restart -m immediate during the load",
    recoveryTargetS: 10,
    async apply(ctx) {
      const t0 = Date.now();
      await ctx.cluster.restartPostgres();
      const s = ((Date.now() - t0) / 1000).toFixed(1);
      ctx.say(`Postgres restarted (pg_ctl took ${s} s)`);
      return { events: [t0], notes: [`pg_ctl restart -m immediate took ${s} s`] };
    },
  },
  {
    name: "pool",
    fault: "another client holds all but 3 of max_connections",
    recoveryTargetS: 10,
    async apply(ctx) {
      const hog = await exhaustConnections(ctx.cluster.url, 3);
      ctx.say(`holding ${hog.held} of the ${hog.wanted} connection slots wanted for ${ctx.poolSeconds} s`);
      await sleep(ctx.poolSeconds * 1000);
      await hog.release();
      return { events: [Date.now()], notes: [`held ${hog.held} connections (wanted ${hog.wanted}) for ${ctx.poolSeconds} s`] };
    },
  },
  {
    name: "kill",
    fault: "SIGKILL of one instance, restarted with the same id 20 s later",
    recoveryTargetS: RECOVERY_WINDOW_MS / 1000 + 10,
    async apply(ctx) {
      // kill it while it runs something, so the take-over of its attempts is part of the phase
      const holding = async () =>
        (await ctx.sql<{ n: number }[]>`select count(*)::int as n from baton.tasks where status = 'processing' and locked_by = 'torture-b'`)[0].n;
      const deadline = Date.now() + 10_000;
      let held = await holding();
      while (held === 0 && Date.now() < deadline) {
        await sleep(20);
        held = await holding();
      }
      const t0 = Date.now();
      const killed = await ctx.cluster.kill("torture-b");
      ctx.say(`killed torture-b (SIGKILL) while it ran ${held} tasks; restarting it in 20 s`);
      await sleep(20_000);
      await ctx.cluster.restart("torture-b");
      const up = ((Date.now() - t0) / 1000).toFixed(1);
      ctx.say(`torture-b answers /health again, ${up} s after the kill`);
      return { events: [t0], killed, notes: [`killed while running ${held} tasks`, `torture-b up again ${up} s after the kill`] };
    },
  },
  {
    name: "overload",
    fault: "1.5× the measured drain rate, then back to normal",
    async apply(ctx) {
      const rate = Math.round(1.5 * ctx.drainRate);
      ctx.load.setRate(rate);
      ctx.say(`overload: ${rate} tasks/s for ${ctx.longSeconds} s`);
      await sleep(ctx.longSeconds * 1000);
      ctx.load.setRate(ctx.normalRate);
      return { events: [Date.now()], notes: [`${rate} tasks/s for ${ctx.longSeconds} s (drain rate ${ctx.drainRate.toFixed(0)}/s)`] };
    },
  },
];
