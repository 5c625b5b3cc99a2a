/**
 * Throughput chart: inline SVG, one stacked bar per minute for the last hour (completed below,
 * failed on top). No script, no library; the numbers are also given as text for screen readers.
 */
import type { FC } from "hono/jsx";
import type { Throughput } from "../db/queries/dashboard.js";
import { fmtInt } from "./format.js";

const W = 1000;
const H = 170;
const PAD_L = 36;
const PAD_B = 18;

export const ThroughputChart: FC<{ data: Throughput }> = ({ data }) => {
  const buckets = data.perMinute;
  const max = Math.max(1, ...buckets.map((b) => b.completed + b.failed));
  const plotW = W - PAD_L - 4;
  const plotH = H - PAD_B - 8;
  const bw = plotW / Math.max(1, buckets.length);
  const y = (v: number) => (v / max) * plotH;
  const peak = buckets.reduce((a, b) => (b.completed + b.failed > a.completed + a.failed ? b : a), buckets[0] ?? { minute: "", completed: 0, failed: 0 });
  const summary = `Tasks finished per minute over the last 60 minutes: ${fmtInt(data.completed60m)} completed and ${fmtInt(data.failed60m)} failed in total; busiest minute ${fmtInt(peak.completed + peak.failed)}.`;
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby="chart-title chart-desc">
        <title id="chart-title">Throughput, last 60 minutes</title>
        <desc id="chart-desc">{summary}</desc>
        <line x1={PAD_L} y1={8} x2={PAD_L} y2={H - PAD_B} class="axis" />
        <line x1={PAD_L} y1={H - PAD_B} x2={W - 4} y2={H - PAD_B} class="axis" />
        <text x={PAD_L - 4} y={14} class="tick" text-anchor="end">
          {fmtInt(max)}
        </text>
        <text x={PAD_L - 4} y={H - PAD_B} class="tick" text-anchor="end">
          0
        </text>
        <text x={PAD_L} y={H - 4} class="tick">
          −60 min
        </text>
        <text x={W - 4} y={H - 4} class="tick" text-anchor="end">
          now
        </text>
        {buckets.map((b, i) => {
          const x = PAD_L + 1 + i * bw;
          const hc = y(b.completed);
          const hf = y(b.failed);
          return (
            <g>
              {b.completed > 0 && <rect x={x} y={H - PAD_B - hc} width={Math.max(1, bw - 1)} height={hc} class="bar-ok" />}
              {b.failed > 0 && <rect x={x} y={H - PAD_B - hc - hf} width={Math.max(1, bw - 1)} height={hf} class="bar-failed" />}
            </g>
          );
        })}
      </svg>
      <figcaption>
        <span class="key key-ok" /> completed <span class="key key-failed" /> failed, per minute
      </figcaption>
    </figure>
  );
};
