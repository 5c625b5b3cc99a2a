/**
 * Renders one run's results: a markdown report (tables, ratios, targets) and an SVG bar chart.
 * Every number comes from results.json of the same run.
 */
import type { Measure, Results } from "./results.js";
import { fmt } from "./stats.js";

const GW = "graphile-worker";
const BOSS = "pg-boss";

const ratio = (a?: number, b?: number) => (a && b ? `${(a / b).toFixed(2)}×` : "–");
const med = (m?: Measure) => (m ? fmt(m.median) : "–");
const reps = (m?: Measure) => (m ? m.samples.map((x) => fmt(x)).join(" / ") : "");

interface Target {
  name: string;
  goal: string;
  measured: string;
  met: boolean | null;
}

export function targets(r: Results): Target[] {
  const t: Target[] = [];
  const p = r.processing;
  const gwB = p[`${GW} (batched)`];
  const boss = p[BOSS];
  for (const label of Object.keys(p).filter((l) => l.startsWith("baton"))) {
    for (const n of ["1", "2"]) {
      const b = p[label]?.[n]?.median;
      const g = gwB?.[n]?.median;
      const s = boss?.[n]?.median;
      if (b && g) t.push({ name: `processing, ${label}, ${n} instance(s) vs batched graphile-worker`, goal: "≥ 0.5×", measured: ratio(b, g), met: b / g >= 0.5 });
      if (b && s) t.push({ name: `processing, ${label}, ${n} instance(s) vs pg-boss`, goal: "≥ 3×", measured: ratio(b, s), met: b / s >= 3 });
    }
  }
  for (const [name, q] of Object.entries(r.queues ?? {})) {
    if (q.ratioToPlain === null) continue;
    t.push({ name: `queues: drain, ${name} (${q.setup}) vs plain drain, same rounds`, goal: "≥ 0.8× (≤ 20 % slower)", measured: `${fmt(q.rate.median)} vs ${fmt(r.queues.plain?.rate.median ?? Number.NaN)} tasks/s = ${q.ratioToPlain.toFixed(2)}×`, met: q.ratioToPlain >= 0.8 });
  }
  const single = Object.keys(r.enqueue).find((k) => k.startsWith("single"));
  const sb = single ? r.enqueue[single]?.baton?.median : undefined;
  const ss = single ? r.enqueue[single]?.[BOSS]?.median : undefined;
  if (sb && ss) t.push({ name: "single creates over HTTP (16 clients) vs pg-boss send in-process", goal: "≥ 1×", measured: `${fmt(sb)} vs ${fmt(ss)} /s = ${ratio(sb, ss)}`, met: sb / ss >= 1 });
  const b10 = r.enqueue["batch of 10,000"]?.baton?.median;
  if (b10) t.push({ name: "batch enqueue over HTTP, 10,000 per request", goal: "≥ 50,000 tasks/s", measured: `${fmt(b10)} tasks/s`, met: b10 >= 50_000 });
  const l = r.latency.baton;
  if (l) {
    t.push({ name: "latency HTTP create → handler start, p50", goal: "≤ 5 ms", measured: `${l.p50.toFixed(1)} ms`, met: l.p50 <= 5 });
    t.push({ name: "latency HTTP create → handler start, p99", goal: "≤ 25 ms", measured: `${l.p99.toFixed(1)} ms`, met: l.p99 <= 25 });
  }
  for (const [label, s] of Object.entries(r.scale)) {
    if (!label.startsWith("baton") || !s.baseline || !s.big) continue;
    t.push({ name: `scale: ${label} drain at ${fmt(s.historyRows ?? 0)} history + ~1M queued vs ${fmt(r.options.scaleBaseline as number)} case`, goal: "≥ 0.8×", measured: ratio(s.big.median, s.baseline.median), met: s.big.median / s.baseline.median >= 0.8 });
  }
  for (const [name, a] of Object.entries(r.api)) {
    if (name.startsWith("GET /api/tasks?")) t.push({ name: `scale: ${name} p99 at ${fmt(a.rows)} rows`, goal: "≤ 50 ms", measured: `${a.p99.toFixed(1)} ms`, met: a.p99 <= 50 });
  }
  for (const [label, mb] of Object.entries(r.memory)) {
    if (label.startsWith("baton")) t.push({ name: `memory: peak RSS per instance, ${label}`, goal: "≤ 200 MB", measured: `${mb} MB`, met: mb <= 200 });
  }
  return t;
}

const us = (x: number | null | undefined) => (x === null || x === undefined ? "–" : fmt(x));
const msOrLate = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "never started");

/** Ratio columns: every baton configuration against every other configuration, for one metric. */
function ratioTable(lines: string[], title: string, values: Record<string, number | null | undefined>, lowerIsBetter: boolean): void {
  const known = (l: string) => typeof values[l] === "number" && Number.isFinite(values[l]);
  const batons = Object.keys(values).filter((l) => l.startsWith("baton") && known(l));
  const others = Object.keys(values).filter((l) => !l.startsWith("baton") && known(l));
  if (!batons.length || !others.length) return;
  // a zero is a measurement (an idle process may use no CPU at all), not a missing value
  const q = (a: number, b: number) => (b === 0 ? (a === 0 ? "1.00×" : "∞") : `${(a / b).toFixed(2)}×`);
  lines.push(`| ${title}${lowerIsBetter ? " (lower is better)" : ""} | ${others.map((x) => `/ ${x}`).join(" | ")} |`);
  lines.push(`| --- | ${others.map(() => "---:").join(" | ")} |`);
  for (const b of batons) lines.push(`| ${b} | ${others.map((x) => q(values[b] as number, values[x] as number)).join(" | ")} |`);
  lines.push("");
}

function header(r: Results, lines: string[]): void {
  const o = r.options as Record<string, unknown>;
  const m = r.machine as Record<string, unknown>;
  lines.push(`# baton benchmark, ${r.startedAt}`, "");
  lines.push(
    `Machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGb} GB, ${m.os}; Node ${m.node}; ${String(m.postgres).split(",")[0]}` +
      ` (${m.postgresEmbedded ? "embedded" : "DATABASE_URL"}); load average at start ${(m.loadAverageAtStart as number[]).join(" ")}.`,
  );
  lines.push(
    `Scale ${o.scale}; ${o.reps} repetitions after warm-up, medians shown (repetitions in small print); concurrency ${o.concurrency} jobs per process for every system. ` +
      `Run took ${r.durationS ?? "?"} s (${Object.entries(r.stageSeconds).map(([k, v]) => `${k} ${v} s`).join(", ") || "no stage finished"}).`,
  );
  lines.push(
    `Cost per task: Postgres CPU in µs (= ms per 1,000 tasks) from /proc of every Postgres process${m.postgresCpuVisible ? "" : " (not visible from this machine: shown as –)"}, ` +
      `WAL in bytes from pg_current_wal_lsn() differences. Both are server-wide${m.postgresEmbedded ? "" : " (with DATABASE_URL they include whatever else runs on that server)"}.`,
    "",
  );
  if (Object.keys(r.configs).length) {
    lines.push("## Configurations", "");
    row(lines, "configuration", "settings", "follows");
    row(lines, "---", "---", "---");
    for (const [label, c] of Object.entries(r.configs)) {
      const eff = c.effective ? ` Effective: ${Object.entries(c.effective).map(([k, v]) => `${k}=${v}`).join(", ")}.` : "";
      row(lines, label, `${c.settings}.${eff}`, c.source);
    }
    lines.push("");
  }
  if (Object.keys(r.priority).length) {
    lines.push("Probe priority (baton's priority 9) in each system: " + Object.entries(r.priority).map(([s, n]) => `**${s}** ${n}`).join("; ") +
      ". Every system compared has priorities, so every one gets the probe.", "");
  }
}

const row = (lines: string[], ...cells: string[]) => lines.push(`| ${cells.join(" | ")} |`);

function enqueueSection(r: Results, lines: string[]): void {
  if (!Object.keys(r.enqueue).length) return;
  const systems = [...new Set(Object.values(r.enqueue).flatMap((s) => Object.keys(s)))];
  lines.push("## (a) Enqueue, tasks/s", "");
  lines.push("baton over HTTP; the others in-process (no HTTP). Per task: Postgres CPU µs / WAL bytes.", "");
  row(lines, "case", ...systems.map((s) => `${s}${s === "baton" ? " (HTTP)" : ""}`), ...systems.map((s) => `${s} per task`));
  row(lines, "---", ...systems.map(() => "---:"), ...systems.map(() => "---:"));
  for (const [c, s] of Object.entries(r.enqueue)) {
    const cost = r.enqueueCost[c] ?? {};
    row(lines, c, ...systems.map((x) => med(s[x])), ...systems.map((x) => (cost[x] ? `${us(cost[x].postgresUs)} µs / ${fmt(cost[x].walBytes)} B` : "–")));
  }
  lines.push("");
  for (const [c, s] of Object.entries(r.enqueue)) {
    ratioTable(lines, `${c}: rate`, Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v.median])), false);
    ratioTable(lines, `${c}: Postgres CPU per task`, Object.fromEntries(Object.entries(r.enqueueCost[c] ?? {}).map(([k, v]) => [k, v.postgresUs])), true);
  }
  lines.push(`Repetitions: ${Object.entries(r.enqueue).map(([c, s]) => `${c}: ${Object.entries(s).map(([k, v]) => `${k} ${reps(v)}`).join("; ")}`).join(". ")}`, "");
}

function processingSection(r: Results, lines: string[]): void {
  const o = r.options as Record<string, unknown>;
  if (!Object.keys(r.processing).length) return;
  lines.push(`## (b) Processing: drain ${fmt(o.drainCount as number)} queued no-op tasks, tasks/s`, "");
  row(lines, "configuration", "1 instance", "2 instances", "repetitions (1 / 2 instances)");
  row(lines, "---", "---:", "---:", "---");
  for (const [label, s] of Object.entries(r.processing)) row(lines, label, med(s["1"]), med(s["2"]), `${reps(s["1"])} · ${reps(s["2"])}`);
  lines.push("");
  for (const n of ["1", "2"]) {
    ratioTable(lines, `rate, ${n} instance(s)`, Object.fromEntries(Object.entries(r.processing).map(([k, v]) => [k, v[n]?.median])), false);
  }
  if (Object.keys(r.cpu).length) {
    lines.push("### Cost per task drained (medians): Postgres CPU µs, WAL bytes, worker CPU µs", "");
    row(lines, "configuration", "Postgres, 1", "WAL, 1", "workers, 1", "Postgres, 2", "WAL, 2", "workers, 2");
    row(lines, "---", "---:", "---:", "---:", "---:", "---:", "---:");
    for (const [label, c] of Object.entries(r.cpu)) {
      row(lines, label, ...["1", "2"].flatMap((n) => [us(c[n]?.postgresUs), us(c[n]?.walBytes), us(c[n]?.workersUs)]));
    }
    lines.push("");
    for (const n of ["1", "2"]) {
      ratioTable(lines, `Postgres CPU per task, ${n} instance(s)`, Object.fromEntries(Object.entries(r.cpu).map(([k, v]) => [k, v[n]?.postgresUs])), true);
      ratioTable(lines, `WAL per task, ${n} instance(s)`, Object.fromEntries(Object.entries(r.cpu).map(([k, v]) => [k, v[n]?.walBytes])), true);
    }
  }
}

function queuesSection(r: Results, lines: string[]): void {
  const o = r.options as Record<string, unknown>;
  const q = Object.entries(r.queues ?? {});
  if (!q.length) return;
  lines.push(`## (b2) Queues: baton drains ${fmt(o.drainCount as number)} queued no-op tasks, 1 instance, concurrency ${o.concurrency}`, "");
  lines.push("The three cases run in the same rounds on one instance (their order rotates each round). Ratio: median / median of the plain drain of these rounds; goal ≥ 0.8× (at most 20 % slower).", "");
  const plainB = r.processing.baton?.["1"]?.median;
  row(lines, "case", "setup", "tasks/s", "/ plain", "Postgres µs/task", "WAL B/task", "workers µs/task", "repetitions");
  row(lines, "---", "---", "---:", "---:", "---:", "---:", "---:", "---");
  for (const [name, x] of q) {
    row(lines, name, x.setup, med(x.rate), x.ratioToPlain === null ? "1.00×" : `${x.ratioToPlain.toFixed(2)}×`, us(x.cost.postgresUs), fmt(x.cost.walBytes), fmt(x.cost.workersUs), reps(x.rate));
  }
  lines.push("");
  if (plainB) lines.push(`For reference, (b)'s plain drain of this run, baton with 1 instance: ${fmt(plainB)} tasks/s.`, "");
}

function latencySection(r: Results, lines: string[]): void {
  const o = r.options as Record<string, unknown>;
  if (!Object.keys(r.latency).length) return;
  lines.push(`## (c) Latency: create → handler start, open loop at ${o.latencyRate}/s on an idle instance, ms`, "");
  row(lines, "system", "p50", "p99", "max", "n", "create call p50", "create call p99", "p50 / p99 per repetition");
  row(lines, "---", "---:", "---:", "---:", "---:", "---:", "---:", "---");
  for (const [s, l] of Object.entries(r.latency)) {
    row(lines, s, l.p50.toFixed(1), l.p99.toFixed(1), l.max.toFixed(1), String(l.count), l.createP50.toFixed(1), l.createP99.toFixed(1), l.repsP50.map((x, i) => `${x.toFixed(1)} / ${l.repsP99[i].toFixed(1)}`).join(" · "));
  }
  lines.push("");
  ratioTable(lines, "p50", Object.fromEntries(Object.entries(r.latency).map(([k, v]) => [k, v.p50])), true);
  ratioTable(lines, "p99", Object.fromEntries(Object.entries(r.latency).map(([k, v]) => [k, v.p99])), true);
}

function scaleSection(r: Results, lines: string[]): void {
  const o = r.options as Record<string, unknown>;
  if (!Object.keys(r.scale).length && !Object.keys(r.api).length) return;
  lines.push(`## (d) Scale: drain rate (one instance) with ${fmt(o.scaleRows as number)} queued and ${fmt(o.scaleRows as number)} finished kept, against ${fmt(o.scaleBaseline as number)} queued on empty tables, tasks/s`, "");
  row(lines, "configuration", "baseline", "big", "big / baseline", "history rows", "queued at window starts", "big: Postgres µs / WAL B per task");
  row(lines, "---", "---:", "---:", "---:", "---:", "---", "---:");
  for (const [label, s] of Object.entries(r.scale)) {
    const c = r.scaleCost[label];
    row(lines, label, med(s.baseline), med(s.big), ratio(s.big?.median, s.baseline?.median), fmt(s.historyRows ?? Number.NaN), (s.queuedAtStart ?? []).map((q) => fmt(q)).join(" / "), c ? `${us(c.postgresUs)} / ${fmt(c.walBytes)}` : "–");
  }
  lines.push("");
  ratioTable(lines, "big-table drain rate", Object.fromEntries(Object.entries(r.scale).map(([k, v]) => [k, v.big?.median])), false);
  if (Object.keys(r.api).length) {
    row(lines, "baton API request (sequential)", "rows in baton.tasks", "p50 ms", "p99 ms", "n");
    row(lines, "---", "---:", "---:", "---:", "---:");
    for (const [name, a] of Object.entries(r.api)) row(lines, `\`${name}\``, fmt(a.rows), a.p50.toFixed(1), a.p99.toFixed(1), String(a.count));
    lines.push("", "The others have no list API: no ratio.", "");
  }
}

function continuousSection(r: Results, lines: string[]): void {
  const o = r.options as Record<string, unknown>;
  if (!Object.keys(r.continuous).length) return;
  lines.push(
    `## (f) Continuous load: ≥ ${fmt(o.continuousQueued as number)} tasks queued throughout, ${o.continuousSeconds} s measured, ${o.continuousInstances} instance(s); ` +
      `a probe at priority 9 (see Configurations for each system's equivalent) ${o.probeRate}/s`,
    "",
  );
  lines.push("Per task: over the window, creating the load (top-ups) included. Probe latency: create call → handler start; a probe not started 10 s after the window counts as never started.", "");
  row(lines, "configuration", "tasks/s", "probe p50 ms", "probe p99 ms", "probe max ms", "probes started", "Postgres µs/task", "WAL B/task", "workers µs/task", "fewest queued", `tasks/s every ${o.tickSeconds} s`);
  row(lines, "---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---");
  for (const [label, c] of Object.entries(r.continuous)) {
    row(lines, label, fmt(c.rate), msOrLate(c.probe.p50), msOrLate(c.probe.p99), Number.isFinite(c.probe.max) ? c.probe.max.toFixed(1) : "–", `${c.probe.started} / ${c.probe.created}`,
      us(c.cost.postgresUs), fmt(c.cost.walBytes), fmt(c.cost.workersUs), fmt(c.minQueued), c.ticks.map((x) => fmt(x)).join(" "));
  }
  lines.push("");
  const pick = (f: (c: Results["continuous"][string]) => number | null) => Object.fromEntries(Object.entries(r.continuous).map(([k, v]) => [k, f(v)]));
  ratioTable(lines, "tasks/s", pick((c) => c.rate), false);
  ratioTable(lines, "probe p50", pick((c) => (Number.isFinite(c.probe.p50) ? c.probe.p50 : null)), true);
  ratioTable(lines, "probe p99", pick((c) => (Number.isFinite(c.probe.p99) ? c.probe.p99 : null)), true);
  ratioTable(lines, "Postgres CPU per task", pick((c) => c.cost.postgresUs), true);
  ratioTable(lines, "WAL per task", pick((c) => c.cost.walBytes), true);
}

function idleSection(r: Results, lines: string[]): void {
  if (!Object.keys(r.idle).length) return;
  const first = Object.values(r.idle)[0];
  const src = first.source === "pg_stat_statements"
    ? "statements: pg_stat_statements calls in the system's database"
    : "statements: pg_stat_statements is not loaded on this server, so pg_stat_database of the system's database is shown: transactions (each statement outside an explicit transaction is one), tuples read (returned + fetched) and written (inserted + updated + deleted)";
  lines.push(`## (g) Idle: ${first.instances} instance(s) with nothing to do, ${first.seconds} s`, "", `CPU per second of wall time; ${src}.`, "");
  row(lines, "configuration", "instances ms CPU/s", "Postgres ms CPU/s", "WAL B/s", "statements/s", "transactions/s", "tuples read/s", "tuples written/s");
  row(lines, "---", "---:", "---:", "---:", "---:", "---:", "---:", "---:");
  for (const [label, x] of Object.entries(r.idle)) {
    row(lines, label, fmt(x.workersMsPerS, 1), x.postgresMsPerS === null ? "–" : fmt(x.postgresMsPerS, 1), fmt(x.walBytesPerS), x.statementsPerS === null ? "–" : fmt(x.statementsPerS, 1), fmt(x.xactPerS, 1), fmt(x.tupReadPerS), fmt(x.tupWrittenPerS));
  }
  lines.push("");
  const pick = (f: (c: Results["idle"][string]) => number | null) => Object.fromEntries(Object.entries(r.idle).map(([k, v]) => [k, f(v)]));
  ratioTable(lines, "instances CPU", pick((x) => x.workersMsPerS), true);
  ratioTable(lines, "Postgres CPU", pick((x) => x.postgresMsPerS), true);
  ratioTable(lines, first.source === "pg_stat_statements" ? "statements/s" : "transactions/s", pick((x) => x.statementsPerS ?? x.xactPerS), true);
}

function workflowsSection(r: Results, lines: string[]): void {
  const o = r.options as Record<string, unknown>;
  const w = Object.entries(r.workflows ?? {});
  if (!w.length) return;
  lines.push(`## (h) Workflows: baton, 1 instance, concurrency ${o.concurrency}, no-op tasks with dependencies against as many independent tasks`, "");
  lines.push(
    "Created over HTTP (POST /api/tasks/batch with refs, at most 10,000 tasks per request; a parent of an earlier request named by its id), " +
      "the roots and every baseline task held, then released by one bulk status report, so nothing starts before the whole graph exists. " +
      "Time: first start → last finish from task_logs (min started_at, max created_at of the succeeded rows). " +
      "Baseline: as many independent no-op tasks, created in the same requests and released the same way, in the same rounds (the order alternates). " +
      "Overhead per edge: median over the rounds of (shape − baseline) / edges. " +
      "Per task, run: Postgres CPU µs / WAL B from the release until nothing is left; create: the HTTP creates.",
    "",
  );
  row(lines, "shape", "tasks", "edges", "requests", "s", "tasks/s", "baseline s", "baseline tasks/s", "overhead µs/edge", "run per task: shape", "run per task: baseline", "create per task: shape", "create per task: baseline");
  row(lines, "---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:");
  const c = (x: { postgresUs: number | null; walBytes: number }) => `${us(x.postgresUs)} µs / ${fmt(x.walBytes)} B`;
  for (const [name, x] of w) {
    row(lines, `${name}: ${x.shape}`, fmt(x.tasks), fmt(x.edges), String(x.requests), x.seconds.median.toFixed(2), fmt(x.rate), x.baselineSeconds.median.toFixed(2), fmt(x.baselineRate),
      fmt(x.overheadUsPerEdge), c(x.cost), c(x.baselineCost), c(x.createCost), c(x.baselineCreateCost));
  }
  lines.push("");
  const s2 = (xs: number[]) => xs.map((v) => v.toFixed(2)).join(" / ");
  for (const [name, x] of w) {
    lines.push(
      `- ${name}: shape ${s2(x.seconds.samples)} s, baseline ${s2(x.baselineSeconds.samples)} s; overhead ${x.overheadReps.map((v) => fmt(v)).join(" / ")} µs/edge; ` +
        `polled release → empty ${s2(x.wallSeconds)} s (baseline ${s2(x.baselineWallSeconds)} s); HTTP creates ${s2(x.createSeconds.samples)} s (baseline ${s2(x.baselineCreateSeconds.samples)} s); ` +
        `worker CPU per task, run: ${fmt(x.cost.workersUs)} µs (baseline ${fmt(x.baselineCost.workersUs)} µs)${x.note ? `. Note: ${x.note}` : ""}.`,
    );
  }
  lines.push("", "Every released task also has one note row (the status report's \"status reported: backlog -> pending\"): one per root for a shape, one per task for its baseline.", "");
}

export function markdown(r: Results): string {
  const lines: string[] = [];
  header(r, lines);
  enqueueSection(r, lines);
  processingSection(r, lines);
  queuesSection(r, lines);
  latencySection(r, lines);
  scaleSection(r, lines);
  continuousSection(r, lines);
  idleSection(r, lines);
  workflowsSection(r, lines);
  if (Object.keys(r.memory).length) {
    lines.push("## (e) Memory: peak RSS per instance (VmHWM), MB", "");
    row(lines, "process", "peak RSS");
    row(lines, "---", "---:");
    for (const [label, mb] of Object.entries(r.memory)) row(lines, label, String(mb));
    lines.push("");
  }
  const t = targets(r);
  if (t.length) {
    lines.push("## Targets", "");
    row(lines, "target", "goal", "measured", "met");
    row(lines, "---", "---", "---", "---");
    for (const x of t) row(lines, x.name, x.goal, x.measured, x.met === null ? "–" : x.met ? "yes" : "**no**");
    lines.push("");
  }
  if (r.checks.length) lines.push("## Checks", "", ...r.checks.map((c) => `- ${c}`), "");
  if (r.errors.length) lines.push("## Errors", "", ...r.errors.map((e) => ["```", e, "```"].join("\n")), "");
  return `${lines.join("\n")}\n`;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

interface Bar {
  label: string;
  value: number;
  color: string;
}

function panel(title: string, groups: { name: string; bars: Bar[] }[], y: number, width: number): { svg: string; height: number } {
  const max = Math.max(1, ...groups.flatMap((g) => g.bars.map((b) => b.value)));
  const left = 250;
  const barH = 16;
  const plotW = width - left - 90;
  let cy = y + 34;
  const parts = [`<text x="16" y="${y + 20}" font-size="15" font-weight="bold">${esc(title)}</text>`];
  for (const g of groups) {
    parts.push(`<text x="16" y="${cy + 12}" font-size="12" font-weight="bold">${esc(g.name)}</text>`);
    cy += 18;
    for (const b of g.bars) {
      const w = Number.isFinite(b.value) ? Math.max(1, (b.value / max) * plotW) : 0;
      parts.push(
        `<text x="${left - 8}" y="${cy + 12}" font-size="12" text-anchor="end">${esc(b.label)}</text>`,
        `<rect x="${left}" y="${cy}" width="${w.toFixed(1)}" height="${barH}" fill="${b.color}"/>`,
        `<text x="${left + w + 6}" y="${cy + 12}" font-size="12">${Number.isFinite(b.value) ? fmt(b.value) : "–"}</text>`,
      );
      cy += barH + 4;
    }
    cy += 8;
  }
  return { svg: parts.join("\n"), height: cy - y };
}

const COLORS: Record<string, string> = {
  baton: "#2563eb",
  "baton (localQueue)": "#60a5fa",
  "graphile-worker (default)": "#9ca3af",
  "graphile-worker (batched)": "#4b5563",
  "graphile-worker": "#4b5563",
  "pg-boss": "#d97706",
  bullmq: "#dc2626",
};

export function chartSvg(r: Results): string {
  const width = 760;
  const sections: string[] = [];
  let y = 10;
  if (Object.keys(r.processing).length) {
    const groups = ["1", "2"].map((n) => ({
      name: `${n} instance${n === "1" ? "" : "s"}`,
      bars: Object.entries(r.processing).map(([label, s]) => ({ label, value: s[n]?.median ?? Number.NaN, color: COLORS[label] ?? "#888" })),
    }));
    const p = panel(`(b) Processing: drain ${fmt(r.options.drainCount as number)} no-op tasks, tasks/s (median)`, groups, y, width);
    sections.push(p.svg);
    y += p.height + 10;
  }
  if (Object.keys(r.queues ?? {}).length) {
    const groups = [{ name: "baton, 1 instance", bars: Object.entries(r.queues).map(([name, q]) => ({ label: name, value: q.rate.median, color: COLORS.baton })) }];
    const p = panel(`(b2) Queues: drain ${fmt(r.options.drainCount as number)} no-op tasks, tasks/s (median)`, groups, y, width);
    sections.push(p.svg);
    y += p.height + 10;
  }
  if (Object.keys(r.enqueue).length) {
    const groups = Object.entries(r.enqueue).map(([c, s]) => ({
      name: c,
      bars: Object.entries(s).map(([sys, m]) => ({ label: `${sys}${m.note ? ` ${m.note}` : sys === "baton" ? " HTTP" : ""}`, value: m.median, color: COLORS[sys] ?? "#888" })),
    }));
    const p = panel("(a) Enqueue, tasks/s (median)", groups, y, width);
    sections.push(p.svg);
    y += p.height + 10;
  }
  if (Object.keys(r.scale).length) {
    const groups = Object.entries(r.scale).map(([label, s]) => ({
      name: label,
      bars: [
        { label: `${fmt(r.options.scaleBaseline as number)} queued, empty tables`, value: s.baseline?.median ?? Number.NaN, color: COLORS[label] ?? "#888" },
        { label: `${fmt(r.options.scaleRows as number)} queued + history`, value: s.big?.median ?? Number.NaN, color: COLORS[label] ?? "#888" },
      ],
    }));
    const p = panel("(d) Scale: drain rate, one instance, tasks/s (median)", groups, y, width);
    sections.push(p.svg);
    y += p.height + 10;
  }
  if (Object.keys(r.continuous).length) {
    const groups = [{
      name: `${r.options.continuousInstances} instance(s), ≥ ${fmt(r.options.continuousQueued as number)} queued`,
      bars: Object.entries(r.continuous).map(([label, c]) => ({ label, value: c.rate, color: COLORS[label] ?? "#888" })),
    }];
    const p = panel("(f) Continuous load, tasks/s", groups, y, width);
    sections.push(p.svg);
    y += p.height + 10;
  }
  if (Object.keys(r.latency).length) {
    const groups = Object.entries(r.latency).map(([s, l]) => ({
      name: s,
      bars: [
        { label: "p50 ms", value: l.p50, color: COLORS[s] ?? "#888" },
        { label: "p99 ms", value: l.p99, color: COLORS[s] ?? "#888" },
      ],
    }));
    const p = panel("(c) Latency create → handler start, ms (lower is better)", groups, y, width);
    sections.push(p.svg);
    y += p.height + 10;
  }
  const footer = `<text x="16" y="${y + 14}" font-size="11" fill="#555">${esc(`${r.startedAt} · ${(r.machine as Record<string, unknown>).cpus} cores · ${String((r.machine as Record<string, unknown>).postgres).split(",")[0]} · scale ${r.options.scale} · generated by npm run bench`)}</text>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y + 30}" viewBox="0 0 ${width} ${y + 30}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
${sections.join("\n")}
${footer}
</svg>
`;
}

/** The EXPLAIN (ANALYZE, BUFFERS, WAL) outputs of a run, as markdown. */
export function explainMarkdown(r: Results): string {
  const parts = [`# EXPLAIN (ANALYZE, BUFFERS, WAL) at scale, ${r.startedAt}`, ""];
  for (const [name, text] of Object.entries(r.explain)) {
    const [stmt, plan] = text.includes("\n\n") ? [text.slice(0, text.indexOf("\n\n")), text.slice(text.indexOf("\n\n") + 2)] : [text, ""];
    parts.push(`## ${name}`, "", "```sql", stmt.trim(), "```", "");
    if (plan) parts.push("```", plan.trim(), "```", "");
  }
  return `${parts.join("\n")}\n`;
}
