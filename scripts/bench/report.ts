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

export function markdown(r: Results): string {
  const o = r.options as Record<string, unknown>;
  const m = r.machine as Record<string, unknown>;
  const lines: string[] = [];
  const row = (...cells: string[]) => lines.push(`| ${cells.join(" | ")} |`);
  lines.push(`# baton benchmark, ${r.startedAt}`, "");
  lines.push(
    `Machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGb} GB, ${m.os}; Node ${m.node}; ${String(m.postgres).split(",")[0]}` +
      ` (${m.postgresEmbedded ? "embedded" : "DATABASE_URL"}); load average at start ${(m.loadAverageAtStart as number[]).join(" ")}.`,
  );
  lines.push(
    `Scale ${o.scale}; ${o.reps} repetitions after warm-up, medians shown (repetitions in small print); concurrency ${o.concurrency} per instance; ` +
      `localQueue ${o.localQueue}, completeJobBatchDelay ${o.completeBatchDelayMs} ms where batched; pg-boss ${o.bossLoops} work() loops × batchSize ${o.bossBatchSize}. ` +
      `Run took ${r.durationS ?? "?"} s.`,
    "",
  );

  if (Object.keys(r.enqueue).length) {
    lines.push("## (a) Enqueue, tasks/s", "");
    row("case", "baton (HTTP)", "graphile-worker (in-process)", "pg-boss (in-process)", "baton / gw", "baton / pg-boss");
    row("---", "---:", "---:", "---:", "---:", "---:");
    for (const [c, s] of Object.entries(r.enqueue)) {
      row(c, med(s.baton), med(s[GW]), med(s[BOSS]), ratio(s.baton?.median, s[GW]?.median), ratio(s.baton?.median, s[BOSS]?.median));
    }
    lines.push("", `Repetitions: ${Object.entries(r.enqueue).map(([c, s]) => `${c}: ${Object.entries(s).map(([k, v]) => `${k} ${reps(v)}`).join("; ")}`).join(". ")}`, "");
  }

  if (Object.keys(r.processing).length) {
    lines.push(`## (b) Processing: drain ${fmt(o.drainCount as number)} queued no-op tasks, tasks/s`, "");
    row("configuration", "1 instance", "2 instances", "repetitions (1 / 2 instances)");
    row("---", "---:", "---:", "---");
    for (const [label, s] of Object.entries(r.processing)) row(label, med(s["1"]), med(s["2"]), `${reps(s["1"])} · ${reps(s["2"])}`);
    lines.push("");
    const batons = Object.keys(r.processing).filter((l) => l.startsWith("baton"));
    const others = Object.keys(r.processing).filter((l) => !l.startsWith("baton"));
    if (others.length) {
      row("ratio", ...others.flatMap((x) => [`/ ${x}, 1`, `/ ${x}, 2`]));
      row("---", ...others.flatMap(() => ["---:", "---:"]));
      for (const b of batons) {
        row(b, ...others.flatMap((x) => ["1", "2"].map((n) => ratio(r.processing[b]?.[n]?.median, r.processing[x]?.[n]?.median))));
      }
      lines.push("");
    }
  }

  if (Object.keys(r.latency).length) {
    lines.push(`## (c) Latency: create → handler start, open loop at ${o.latencyRate}/s, ms`, "");
    row("system", "p50", "p99", "max", "n", "create call p50", "create call p99", "p50 / p99 per repetition");
    row("---", "---:", "---:", "---:", "---:", "---:", "---:", "---");
    for (const [s, l] of Object.entries(r.latency)) {
      row(s, l.p50.toFixed(1), l.p99.toFixed(1), l.max.toFixed(1), String(l.count), l.createP50.toFixed(1), l.createP99.toFixed(1), l.repsP50.map((x, i) => `${x.toFixed(1)} / ${l.repsP99[i].toFixed(1)}`).join(" · "));
    }
    const b = r.latency.baton;
    if (b) lines.push("", `Ratios of p50: baton / graphile-worker ${ratio(b.p50, r.latency[GW]?.p50)}, baton / pg-boss ${ratio(b.p50, r.latency[BOSS]?.p50)}.`);
    lines.push("");
  }

  if (Object.keys(r.scale).length || Object.keys(r.api).length) {
    lines.push(`## (d) Scale: drain rate (one instance) with ${fmt(o.scaleRows as number)} queued and ${fmt(o.scaleRows as number)} finished kept, against ${fmt(o.scaleBaseline as number)} queued on empty tables, tasks/s`, "");
    row("configuration", "baseline", "big", "big / baseline", "history rows", "queued at window starts");
    row("---", "---:", "---:", "---:", "---:", "---");
    for (const [label, s] of Object.entries(r.scale)) {
      row(label, med(s.baseline), med(s.big), ratio(s.big?.median, s.baseline?.median), fmt(s.historyRows ?? Number.NaN), (s.queuedAtStart ?? []).map((q) => fmt(q)).join(" / "));
    }
    const bb = r.scale.baton?.big?.median;
    lines.push("", `Ratios of the big-table drain rate: baton / batched graphile-worker ${ratio(bb, r.scale[`${GW} (batched)`]?.big?.median)}, baton / pg-boss ${ratio(bb, r.scale[BOSS]?.big?.median)}.`, "");
    if (Object.keys(r.api).length) {
      row("baton API request (sequential)", "rows in baton.tasks", "p50 ms", "p99 ms", "n");
      row("---", "---:", "---:", "---:", "---:");
      for (const [name, a] of Object.entries(r.api)) row(`\`${name}\``, fmt(a.rows), a.p50.toFixed(1), a.p99.toFixed(1), String(a.count));
      lines.push("", "graphile-worker and pg-boss have no list API: no ratio.", "");
    }
  }

  if (Object.keys(r.cpu).length) {
    lines.push("### CPU per 1,000 tasks drained, ms (medians; workers = the worker processes, Postgres = every process of the server)", "");
    row("configuration", "workers, 1 instance", "Postgres, 1 instance", "workers, 2 instances", "Postgres, 2 instances");
    row("---", "---:", "---:", "---:", "---:");
    for (const [label, c] of Object.entries(r.cpu)) {
      row(label, fmt(c["1"]?.workers ?? Number.NaN), fmt(c["1"]?.postgres ?? Number.NaN), fmt(c["2"]?.workers ?? Number.NaN), fmt(c["2"]?.postgres ?? Number.NaN));
    }
    lines.push("");
  }

  if (Object.keys(r.memory).length) {
    lines.push("## (e) Memory: peak RSS per instance (VmHWM), MB", "");
    row("process", "peak RSS");
    row("---", "---:");
    for (const [label, mb] of Object.entries(r.memory)) row(label, String(mb));
    lines.push("");
  }

  const t = targets(r);
  if (t.length) {
    lines.push("## Targets", "");
    row("target", "goal", "measured", "met");
    row("---", "---", "---", "---");
    for (const x of t) row(x.name, x.goal, x.measured, x.met === null ? "–" : x.met ? "yes" : "**no**");
    lines.push("");
  }
  if (r.checks.length) lines.push("## Checks", "", ...r.checks.map((c) => `- ${c}`), "");
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

/** The EXPLAIN (ANALYZE, BUFFERS) outputs of a run, as markdown. */
export function explainMarkdown(r: Results): string {
  const parts = [`# EXPLAIN (ANALYZE, BUFFERS) at scale, ${r.startedAt}`, ""];
  for (const [name, text] of Object.entries(r.explain)) {
    const [stmt, plan] = text.includes("\n\n") ? [text.slice(0, text.indexOf("\n\n")), text.slice(text.indexOf("\n\n") + 2)] : [text, ""];
    parts.push(`## ${name}`, "", "```sql", stmt.trim(), "```", "");
    if (plan) parts.push("```", plan.trim(), "```", "");
  }
  return `${parts.join("\n")}\n`;
}
