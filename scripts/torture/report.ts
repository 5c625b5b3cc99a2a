/**
 * The torture run's report: markdown tables written into docs/reliability.md between two marker
 * comments, so the prose around them (what limits a missed target) survives the next run.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fmt } from "../bench/stats.js";
import { type PhaseResult, type SoakSample, type Spread, slopePerMinute, spread } from "./analyse.js";
import { type HeapGrowth, type HeapSummary, heapGrowth } from "./heap.js";
import type { TableStat } from "./measure.js";
import { type FlowFigures, flowViolations } from "./workflows.js";

export const BEGIN = "<!-- torture:begin (written by npm run torture; edit outside the markers) -->";
export const END = "<!-- torture:end -->";

/** The heading of a report file that does not exist yet. */
export const PREAMBLE = "# Reliability: the torture run\n\nWritten by `npm run torture` (scripts/torture/).\n";

export interface RunInfo {
  startedAt: Date;
  durationS: number;
  scale: string;
  args: string;
  revision: string;
  machine: string;
  postgres: string;
  instances: string;
  rate: number;
  /** workflows created per second by the load */
  workflowRate: number;
  drainRate: number;
  baseline: { throughput: number; startLatency: Spread; http: Spread; seconds: number; flows: FlowFigures };
}

export interface Target {
  what: string;
  phase: string;
  measured: string;
  met: boolean;
}

const ms = (s: Spread) => (s.n ? `${fmt(s.p50)} / ${fmt(s.p99)} / ${fmt(s.max)}` : "–");
const mb = (b: number) => fmt(b / 1024 / 1024, 1);
const kinds = (k: Record<string, number>) =>
  Object.entries(k)
    .sort((a, b) => b[1] - a[1])
    .map(([kind, n]) => `${n}× ${kind.replace(/\|/g, "/")}`)
    .join("; ") || "none";

/** Per-live-row size of a table at two moments: the bloat measure (settled rows excluded). */
function perRow(a: TableStat, b: TableStat): number {
  return b.bytes / Math.max(1, b.live) / (a.bytes / Math.max(1, a.live));
}

/** The workflow targets of one window (invariant 10): every violation at 0. */
function flowTargets(phase: string, f: FlowFigures): Target[] {
  const t = (what: string, n: number): Target => ({ what, phase, measured: String(n), met: n === 0 });
  return [
    t("workflows left open = 0", f.open),
    t("workflow children started before their parents settled = 0", f.early),
    t("workflow tasks run more than once = 0", f.repeated),
    t("workflow children stuck waiting (every parent terminal) = 0", f.stuck),
    {
      what: "cancel children not canceled / continue children canceled after a failed parent = 0",
      phase,
      measured: `${f.notCanceled} / ${f.continueCanceled}`,
      met: f.notCanceled === 0 && f.continueCanceled === 0,
    },
  ];
}

/** Every target of the issue, per phase, with what the run measured. */
export function targets(results: PhaseResult[], soak: SoakSummary | null, baselineFlows?: FlowFigures): Target[] {
  const out: Target[] = [];
  if (baselineFlows) out.push(...flowTargets("baseline", baselineFlows));
  for (const r of results) {
    const p = r.w.name;
    out.push({ what: "no instance exits on its own", phase: p, measured: String(r.w.crashes.length), met: r.w.crashes.length === 0 });
    out.push({ what: "lost = 0", phase: p, measured: String(r.lost), met: r.lost === 0 });
    out.push({ what: "duplicated = 0", phase: p, measured: String(r.duplicated), met: r.duplicated === 0 });
    out.push({ what: "schedule firings doubled = 0", phase: p, measured: String(r.firings.doubled), met: r.firings.doubled === 0 });
    out.push({ what: `stuck = 0 (${r.w.stuckAfterS} s after the phase)`, phase: p, measured: String(r.w.stuck), met: r.w.stuck === 0 });
    out.push({ what: "every non-2xx a problem+json 503/429, none past 10 s", phase: p, measured: `${r.badAnswers} other`, met: r.badAnswers === 0 });
    out.push(...flowTargets(p, r.flows));
    if (r.w.recoveryTargetS !== undefined) {
      out.push({
        what: `90 % throughput within ${r.w.recoveryTargetS} s`,
        phase: p,
        measured: r.recoveryS === null ? "not within the recovery period" : `${fmt(r.recoveryS, 1)} s`,
        met: r.recoveryS !== null && r.recoveryS <= r.w.recoveryTargetS,
      });
    }
    if (p === "idle-in-transaction") {
      out.push({ what: "keeps processing (≥ 90 % of baseline throughput during)", phase: p, measured: `${fmt(100 * r.duringShare)} %`, met: r.duringShare >= 0.9 });
      for (let i = 0; i < r.w.stats.start.length; i++) {
        const a = r.w.stats.start[i];
        const b = r.w.stats.end[i];
        // the jobs table settles (rows are deleted), so its plain size is the measure; tasks and
        // task_logs keep every row for RETENTION_DAYS, so only their size per live row can say bloat
        const settled = a.table.endsWith("_private_jobs");
        const ratio = settled ? b.bytes / Math.max(1, a.bytes) : perRow(a, b);
        out.push({
          what: `${a.table} ${settled ? "size" : "size per live row"} within 2× after`,
          phase: p,
          measured: `${fmt(ratio, 2)}×`,
          met: ratio <= 2,
        });
      }
    }
  }
  if (soak) {
    for (const s of soak.rows) if (s.target) out.push({ what: s.target, phase: "soak", measured: s.slope || s.end, met: s.met ?? false });
    if (soak.flows) out.push(...flowTargets("soak", soak.flows));
  }
  return out;
}

export interface SoakRow {
  what: string;
  start: string;
  end: string;
  slope: string;
  target?: string;
  met?: boolean;
}

/** One instance's heap snapshots in the soak (heap.ts): at the start of its measured part and the end. */
export interface SoakHeap {
  id: string;
  pid: number;
  start: HeapSummary;
  startT: number;
  /** null when the end snapshot failed or the instance was restarted in between */
  end: HeapSummary | null;
  endT: number;
}

export interface SoakSummary {
  minutes: number;
  rows: SoakRow[];
  /** per instance, the kinds of objects whose live size grew the most between its snapshots */
  heapGrowth: { id: string; minutes: number; top: HeapGrowth[] }[];
  /** the running workflow during the soak */
  flows?: FlowFigures;
}

/** [time, value] of the samples that have a reading (the once-a-minute ones are NaN in between). */
function readings(samples: SoakSample[], pick: (s: SoakSample) => number | undefined): [number, number][] {
  return samples.flatMap((s) => {
    const y = pick(s);
    return y !== undefined && Number.isFinite(y) ? [[s.t, y] as [number, number]] : [];
  });
}

/** The lowest value of each whole minute of samples, at that sample's time. */
export function perMinuteFloor(ts: number[], ys: number[]): { ts: number[]; ys: number[] } {
  const byMinute = new Map<number, { t: number; y: number }>();
  ts.forEach((t, i) => {
    if (!Number.isFinite(ys[i])) return;
    const k = Math.floor((t - ts[0]) / 60_000);
    const cur = byMinute.get(k);
    if (!cur || ys[i] < cur.y) byMinute.set(k, { t, y: ys[i] });
  });
  const pts = [...byMinute.values()].sort((a, b) => a.t - b.t);
  return { ts: pts.map((p) => p.t), ys: pts.map((p) => p.y) };
}

/**
 * Slopes and ends of the soak's samples. The first fifth of the soak is left out of the fits (an
 * instance restarted by the kill phase is still warming up its JIT and pools). The targets are
 * about growth: a measure passes when its fitted rise over the whole soak stays within an
 * allowance (10 % of its value for memory; a few connections; a couple of seconds of load for the
 * jobs table, which holds the backlog). A fall is never a leak.
 */
export function summariseSoak(all: SoakSample[], minutes: number, rate: number, crashes: number, flows?: FlowFigures, heaps: SoakHeap[] = []): SoakSummary {
  const samples = all.slice(Math.floor(all.length / 5));
  const ts = samples.map((s) => s.t);
  const first = samples[0];
  const last = samples.at(-1) ?? first;
  const rows: SoakRow[] = [
    { what: "instances that exited on their own", start: "", end: String(crashes), slope: "", target: "no instance exits on its own", met: crashes === 0 },
  ];
  const noGrowth = (
    what: string,
    ys: number[],
    unit: (x: number) => string,
    perMin: (x: number) => string,
    allowance: ((start: number) => number) | null,
    at: number[] = ts,
  ) => {
    const slope = slopePerMinute(at, ys);
    const met = allowance ? Number.isFinite(slope) && slope * minutes <= allowance(ys[0]) : undefined;
    rows.push({ what, start: unit(ys[0]), end: unit(ys.at(-1) ?? ys[0]), slope: `${perMin(slope)}/min`, ...(allowance ? { target: `${what}: no growth`, met } : {}) });
  };
  const heapGrowthOut: SoakSummary["heapGrowth"] = [];
  // a heap snapshot's own memory stays in the RSS (heap.ts): with snapshots, RSS is shown only
  const rssAllowance = heaps.length > 0 ? null : (x: number) => 0.1 * x;
  for (let i = 0; i < first.rss.length; i++) {
    noGrowth(`RSS of instance ${i + 1} (MB)${rssAllowance ? "" : " (heap snapshots taken: not judged)"}`, samples.map((s) => s.rss[i]), mb, mb, rssAllowance);
    // The heap in use is a sawtooth (±15 MB between collections): it counts garbage not yet
    // collected, so neither a fit over it nor its floor tells a leak from a collector that runs
    // less often. The target is judged on the live heap, read after full collections once a
    // minute; the heap in use, its floor and the committed heap are shown beside it.
    const live = readings(samples, (s) => s.live?.[i]);
    if (live.length >= 2) {
      noGrowth(`V8 heap live after full collections, each minute, of instance ${i + 1} (MB)`, live.map(([, y]) => y), mb, mb, (x) => 0.1 * x, live.map(([t]) => t));
    } else {
      rows.push({ what: `V8 heap live after full collections of instance ${i + 1} (MB)`, start: "–", end: "–", slope: "", target: `V8 heap live after full collections of instance ${i + 1} (MB): no growth`, met: false });
    }
    const readMs = all.map((s) => s.liveMs?.[i]).filter((x): x is number => Number.isFinite(x));
    if (readMs.length) {
      const sp = spread(readMs);
      rows.push({ what: `a live-heap reading of instance ${i + 1} (two full collections), ms p50 / max`, start: "", end: `${fmt(sp.p50)} / ${fmt(sp.max)}`, slope: "" });
    }
    const h = heaps[i];
    if (h?.end) {
      const span = (h.endT - h.startT) / 60_000;
      rows.push({
        what: `heap snapshot of instance ${i + 1}: live size (MB)`,
        start: mb(h.start.liveBytes),
        end: mb(h.end.liveBytes),
        slope: `${mb((h.end.liveBytes - h.start.liveBytes) / Math.max(span, 1e-9))}/min`,
      });
      heapGrowthOut.push({ id: h.id, minutes: span, top: heapGrowth(h.start, h.end) });
    }
    const floor = perMinuteFloor(ts, samples.map((s) => s.heap[i]));
    noGrowth(`V8 heap used, lowest of each minute, of instance ${i + 1} (MB)`, floor.ys, mb, mb, null, floor.ts);
    noGrowth(`V8 heap used, every sample, of instance ${i + 1} (MB)`, samples.map((s) => s.heap[i]), mb, mb, null);
    if (first.heapTotal) noGrowth(`V8 heap committed of instance ${i + 1} (MB)`, samples.map((s) => s.heapTotal[i]), mb, mb, null);
    const young = readings(samples, (s) => s.young?.[i]);
    if (young.length >= 2) noGrowth(`of it, the young generation (new space) of instance ${i + 1} (MB)`, young.map(([, y]) => y), mb, mb, null, young.map(([t]) => t));
    if (first.external) noGrowth(`external memory (Buffers) of instance ${i + 1} (MB)`, samples.map((s) => s.external[i]), mb, mb, null);
  }
  noGrowth("baton's connections", samples.map((s) => s.connections), (x) => fmt(x), (x) => fmt(x, 2), () => 2);
  noGrowth("graphile_worker jobs rows", samples.map((s) => s.rows.jobs), (x) => fmt(x), (x) => fmt(x, 1), () => 2 * rate);
  noGrowth("baton.instances rows", samples.map((s) => s.rows.instances), (x) => fmt(x), (x) => fmt(x, 2), () => 0);
  // tasks and task_logs keep every row for RETENTION_DAYS (30): they grow with the creates, and
  // anything beyond the creates would be rows nobody asked for
  const tasksGrowth = last.rows.tasks - first.rows.tasks;
  const created = last.created - first.created;
  rows.push({
    what: "baton.tasks rows",
    start: fmt(first.rows.tasks),
    end: fmt(last.rows.tasks),
    slope: `${fmt(slopePerMinute(ts, samples.map((s) => s.rows.tasks)))}/min`,
    target: "tasks rows grow by the creates only (retention keeps 30 days)",
    met: tasksGrowth <= created + minutes * 60 + 10,
  });
  rows.push({
    what: "baton.task_logs rows",
    start: fmt(first.rows.taskLogs),
    end: fmt(last.rows.taskLogs),
    slope: `${fmt(slopePerMinute(ts, samples.map((s) => s.rows.taskLogs)))}/min`,
  });
  rows.push({ what: "tasks created by the load (workflows' included)", start: fmt(first.created), end: fmt(last.created), slope: "" });
  if (flows) {
    rows.push({ what: "workflows created / completed / ended otherwise", start: "", end: `${fmt(flows.created)} / ${fmt(flows.completed)} / ${fmt(flows.otherEnd)}`, slope: "" });
  }
  return { minutes, rows, flows, heapGrowth: heapGrowthOut };
}

function phaseTable(info: RunInfo, results: PhaseResult[]): string {
  const head = `| | baseline | ${results.map((r) => r.w.name).join(" | ")} |\n|---|---|${results.map(() => "---|").join("")}`;
  const row = (label: string, base: string, f: (r: PhaseResult) => string) => `| ${label} | ${base} | ${results.map(f).join(" | ")} |`;
  const b = info.baseline;
  return [
    head,
    row("fault (s) + recovery (s)", `${b.seconds}`, (r) => `${fmt((r.w.faultEnd - r.w.start) / 1000)} + ${fmt((r.w.end - r.w.faultEnd) / 1000)}`),
    row("tasks created (2xx)", "", (r) => fmt(r.created)),
    row("in flight when the fault began / all terminal after (s)", "", (r) => `${fmt(r.w.inFlight.length)} / ${r.inFlightDoneS === null ? "–" : fmt(r.inFlightDoneS, 1)}`),
    row("completed / failed (by design), of both", "", (r) => `${fmt(r.completed)} / ${fmt(r.failed)}`),
    row("**instances that exited on their own**", "", (r) => fmt(r.w.crashes.length)),
    row("**lost**", "", (r) => fmt(r.lost)),
    row("**duplicated**", "", (r) => fmt(r.duplicated)),
    row("last task of the phase terminal (s after the fault)", "", (r) => (r.drainedS === null ? "–" : fmt(r.drainedS, 1))),
    row("**stuck** (at the check)", "", (r) => `${fmt(r.w.stuck)} (+${r.w.stuckAfterS} s)`),
    row("throughput during fault (% of baseline)", `${fmt(b.throughput, 1)}/s`, (r) => `${fmt(100 * r.duringShare)} %`),
    row("**time to 90 % throughput** (s)", "", (r) => (r.recoveryS === null ? "not reached" : fmt(r.recoveryS, 1))),
    row("create → start p50/p99/max ms, during", ms(b.startLatency), (r) => ms(r.startLatency.during)),
    row("create → start p50/p99/max ms, after", "", (r) => ms(r.startLatency.after)),
    row("HTTP answer p50/p99/max ms, during", ms(b.http), (r) => ms(r.http.during)),
    row("HTTP answer p50/p99/max ms, after", "", (r) => ms(r.http.after)),
    row("non-2xx / no answer, during", "", (r) => kinds(r.kinds.during)),
    row("non-2xx / no answer, after", "", (r) => kinds(r.kinds.after)),
    row("schedule firings expected / missed / doubled", "", (r) => `${r.firings.expected} / ${r.firings.missed} / ${r.firings.doubled}`),
    ...flowRows(b.flows, results.map((r) => r.flows)).map(([label, base, cells]) => `| ${label} | ${base} | ${cells.join(" | ")} |`),
  ].join("\n");
}

/** The workflow rows of the per-phase table: [label, baseline cell, phase cells]. */
function flowRows(base: FlowFigures, phases: FlowFigures[]): [string, string, string[]][] {
  const line = (label: string, f: (x: FlowFigures) => string): [string, string, string[]] => [label, f(base), phases.map(f)];
  return [
    line("workflows created / completed / ended otherwise", (x) => `${fmt(x.created)} / ${fmt(x.completed)} / ${fmt(x.otherEnd)}`),
    line("**workflows left open**", (x) => fmt(x.open)),
    line("**workflow children started before their parents settled**", (x) => fmt(x.early)),
    line("**workflow tasks run more than once**", (x) => fmt(x.repeated)),
    line("**workflow children stuck waiting**", (x) => fmt(x.stuck)),
    line("**cancel children not canceled / continue children canceled**", (x) => `${fmt(x.notCanceled)} / ${fmt(x.continueCanceled)}`),
  ];
}

function dbTable(results: PhaseResult[]): string {
  const lines = ["| phase | table | live rows start → end | dead tuples start → fault end → end | size MB start → fault end → end |", "|---|---|---|---|---|"];
  for (const r of results) {
    const { start, faultEnd, end } = r.w.stats;
    for (let i = 0; i < start.length; i++) {
      lines.push(
        `| ${r.w.name} | ${start[i].table} | ${fmt(start[i].live)} → ${fmt(end[i].live)} | ${fmt(start[i].dead)} → ${fmt(faultEnd[i].dead)} → ${fmt(end[i].dead)} | ${mb(start[i].bytes)} → ${mb(faultEnd[i].bytes)} → ${mb(end[i].bytes)} |`,
      );
    }
  }
  return lines.join("\n");
}

/** What the workflow load is (scripts/torture/load.ts, workflowTasks). */
function workflowLoad(perSecond: number): string {
  const every = perSecond > 0 ? `one workflow every ${fmt(1 / perSecond, 1)} s` : "none";
  return `${every}, each one /api/tasks/batch with refs and dependsOn (20–80 ms simulate steps). Four in five are a diamond, split → 3 parts → join, whose second part fails 30 % of its attempts and retries (8 attempts), so it still completes; one in five has a split that fails both its attempts, with an onParentFailure "cancel" child (should end canceled by it) and a "continue" child (should run and complete). The workflows' tasks are not in the task figures (tasks created, lost, duplicated, create → start) except as tasks in flight when a fault began; they are in throughput.`;
}

/** What the workflow rows mean (all read from the database once the run drained). */
const FLOW_MEASURES =
  "Workflow rows: created counts the workflows acknowledged in the window, completed those whose every task ended as designed; the checks also cover workflows with a task open when the fault began. " +
  "*Left open*: a task of the workflow not terminal after the drain. *Started before its parents settled*: a child's first outcome row started before a parent's finished_at, or with a parent that had not completed (failed or canceled counts as settled for a \"continue\" child). " +
  "*Run more than once*: more than one succeeded row, two outcome rows of one attempt, or an attempt after one that ended without a retry. " +
  "*Stuck waiting*: a child waiting while every parent is terminal, in a snapshot taken every 2 s during the run or at the end. " +
  "*Cancel children not canceled*: a \"cancel\" child of a failed or canceled parent that is not canceled with canceled_by and a canceled row naming that parent.";

/** The generated part of docs/reliability.md. */
export function renderRun(info: RunInfo, results: PhaseResult[], soak: SoakSummary | null): string {
  const ts = targets(results, soak, info.baseline.flows);
  const missed = ts.filter((t) => !t.met);
  // the workflow figures of every window: the baseline, each phase, the soak
  const flowWindows = [{ name: "baseline", f: info.baseline.flows }, ...results.map((r) => ({ name: r.w.name, f: r.flows })), ...(soak?.flows ? [{ name: "soak", f: soak.flows }] : [])];
  const out = [
    `Run of ${info.startedAt.toISOString()}: \`npm run torture -- ${info.args}\` (scale ${info.scale}) on baton ${info.revision}, ${fmt(info.durationS / 60, 1)} minutes.`,
    "",
    `- Machine: ${info.machine}`,
    `- Postgres: ${info.postgres}`,
    `- Instances: ${info.instances}`,
    `- Load: ${info.rate} tasks/s over HTTP (7 in 10 succeed, 2 fail half their attempts and retry, 1 fails every attempt), a noop schedule every second; measured drain rate ${fmt(info.drainRate)} tasks/s; baseline throughput ${fmt(info.baseline.throughput, 1)} tasks/s (workflow tasks included).`,
    `- Workflow load: ${workflowLoad(info.workflowRate)}`,
    "",
    `### Targets: ${ts.length - missed.length} of ${ts.length} met`,
    "",
    missed.length ? `Missed: ${missed.map((t) => `${t.phase}: ${t.what} (${t.measured})`).join("; ")}.` : "Every target met.",
    "",
    "| phase | target | measured | met |",
    "|---|---|---|---|",
    ...ts.map((t) => `| ${t.phase} | ${t.what} | ${t.measured} | ${t.met ? "yes" : "**no**"} |`),
    "",
    "### Per phase",
    "",
    phaseTable(info, results),
    "",
    ...results.flatMap((r) => r.w.crashes.map((c) => `Crash in ${r.w.name}: ${c.id} exited (code ${c.code}) at ${new Date(c.at).toISOString()}: ${c.last.replace(/\|/g, "/")}; the run started it again after 1 s.`)),
    "",
    ...results.filter((r) => r.lostIds.length).map((r) => `Lost in ${r.w.name} (first ids): ${r.lostIds.join(", ")}.`),
    "",
    FLOW_MEASURES,
    "",
    ...flowWindows
      .filter((x) => flowViolations(x.f) > 0)
      .map((x) => `Workflow violations in ${x.name} (first task ids): ${x.f.examples.join(", ")}.`),
    ...flowWindows
      .filter((x) => x.f.otherEnds.length > 0)
      .map((x) => `Workflows that ended otherwise in ${x.name}: ${x.f.otherEnds.slice(0, 10).join(" · ").replace(/\|/g, "/")}.`),
    "",
    `Fault notes: ${results.map((r) => `${r.w.name}: ${r.w.notes.join("; ")}`).join(". ")}.`,
    "",
    "### Database",
    "",
    dbTable(results),
  ];
  if (soak) {
    out.push("", `### Soak: the steady load for ${soak.minutes} minutes`, "", "| measure | start | end | fitted slope | target | met |", "|---|---|---|---|---|---|");
    for (const r of soak.rows) out.push(`| ${r.what} | ${r.start} | ${r.end} | ${r.slope} | ${r.target ?? ""} | ${r.met === undefined ? "" : r.met ? "yes" : "**no**"} |`);
    for (const g of soak.heapGrowth) {
      out.push("", `Live heap of ${g.id}: what grew most in ${fmt(g.minutes, 1)} minutes between its two snapshots (self size; a negative figure shrank).`, "", "| objects | MB | count |", "|---|---|---|");
      for (const x of g.top) out.push(`| \`${x.what.replace(/\|/g, "/").slice(0, 60)}\` | ${fmt(x.bytes / 2 ** 20, 2)} | ${fmt(x.count)} |`);
    }
  }
  return out.join("\n");
}

/** Replaces the generated part of the report file (or creates the file around it). */
export function writeReport(file: string, generated: string, preamble: string): void {
  const block = `${BEGIN}\n${generated}\n${END}`;
  const old = existsSync(file) ? readFileSync(file, "utf8") : "";
  const a = old.indexOf(BEGIN);
  const b = old.indexOf(END);
  const text = a >= 0 && b > a ? old.slice(0, a) + block + old.slice(b + END.length) : `${preamble}\n${block}\n`;
  writeFileSync(file, text);
}
