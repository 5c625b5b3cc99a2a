/** Plain-text output of the CLI for people: aligned tables and key/value blocks. */

/** Cell text: null and undefined as "-", long text cut to `max` characters. */
export function cell(v: unknown, max = 60): string {
  if (v === null || v === undefined || v === "") return "-";
  const s = typeof v === "string" ? v : typeof v === "object" ? JSON.stringify(v) : String(v);
  const line = s.replace(/\s+/g, " ");
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** A table with a header row, columns padded to their widest cell. */
export function table(headers: string[], rows: unknown[][]): string {
  const text = rows.map((r) => r.map((v) => cell(v)));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => r[i]?.length ?? 0)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return [line(headers), ...text.map(line)].join("\n");
}

/** `key  value` lines, keys aligned. */
export function fields(obj: Record<string, unknown>): string {
  const width = Math.max(...Object.keys(obj).map((k) => k.length));
  return Object.entries(obj)
    .map(([k, v]) => `${k.padEnd(width)}  ${cell(v, 200)}`)
    .join("\n");
}

/**
 * A timestamp as local-free UTC text without milliseconds: 2026-11-24 09:00:00Z. Any offset is
 * read (a progress `at` comes as Postgres writes it into jsonb: `…T09:00:00.123456+00:00`).
 */
export function time(iso: string | null | undefined): string {
  if (!iso) return "-";
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}
