/** How the dashboard writes numbers, durations and times (pure, no I/O). */

export function fmtInt(n: number): string {
  return n.toLocaleString("en-US");
}

/** 850 ms, 4.2 s, 3 min 5 s, 2 h 10 min */
export function fmtDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.floor((ms % 60_000) / 1000)} s`;
  if (ms < 86_400_000) return `${Math.floor(ms / 3_600_000)} h ${Math.floor((ms % 3_600_000) / 60_000)} min`;
  return `${Math.floor(ms / 86_400_000)} d ${Math.floor((ms % 86_400_000) / 3_600_000)} h`;
}

export function fmtAge(ms: number): string {
  return `${fmtDuration(Math.max(0, ms))} ago`;
}

export function fmtPercent(rate: number | null): string {
  if (rate === null) return "–";
  return `${(rate * 100).toFixed(rate >= 0.999 || rate === 0 ? 0 : 1)}%`;
}

export function iso(d: Date | string | null | undefined): string | null {
  if (d === null || d === undefined) return null;
  const t = d instanceof Date ? d : new Date(d);
  return Number.isNaN(+t) ? null : t.toISOString();
}

/** "2026-05-01 09:00:00 UTC" (the page script rewrites it in the browser's time zone). */
export function fmtTime(d: Date | string | null | undefined): string {
  const s = iso(d);
  return s ? `${s.slice(0, 10)} ${s.slice(11, 19)} UTC` : "–";
}

/** Pretty JSON for <pre>, bounded so a huge payload cannot blow up a page. */
export function fmtJson(v: unknown, max = 20_000): string {
  const s = JSON.stringify(v ?? null, null, 2) ?? "null";
  return s.length > max ? `${s.slice(0, max)}\n… (${fmtInt(s.length - max)} more characters; see the API)` : s;
}

/** A schedule trigger in words. */
export function fmtTrigger(t: unknown): string {
  const x = (t ?? {}) as { kind?: string; expression?: string; timezone?: string; seconds?: number; at?: string };
  switch (x.kind) {
    case "cron":
      return `cron ${x.expression ?? "?"}${x.timezone ? ` (${x.timezone})` : ""}`;
    case "interval":
      return `every ${fmtDuration((x.seconds ?? 0) * 1000)}`;
    case "once":
      return `once at ${fmtTime(x.at)}`;
    default:
      return JSON.stringify(t);
  }
}
