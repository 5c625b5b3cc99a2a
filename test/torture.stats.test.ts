/**
 * The torture report's statistics at a full run's volume. A full run's overload acknowledges
 * about 128,000 tasks; the report took the largest create → start latency with Math.max(...xs),
 * which overflows the call stack at that many arguments ("Maximum call stack size exceeded"),
 * and the run ended without its report after 52 minutes.
 */
import { expect, it } from "vitest";
import { maxOf } from "../scripts/bench/stats.js";
import { spread } from "../scripts/torture/analyse.js";

it("spread takes the largest of 500,000 latencies", () => {
  const xs = Array.from({ length: 500_000 }, (_, i) => (i * 7919) % 500_000);
  xs[123_456] = 1_000_000;
  const s = spread(xs);
  expect(s.n).toBe(500_000);
  expect(s.max).toBe(1_000_000);
  // a permutation of 0..499,999 with one value replaced by 1,000,000
  expect(s.p50).toBeGreaterThanOrEqual(249_999);
  expect(s.p50).toBeLessThanOrEqual(250_000);
});

it("maxOf: none is NaN, a NaN sample makes NaN", () => {
  expect(maxOf([])).toBeNaN();
  expect(maxOf([3, -1, 2])).toBe(3);
  expect(maxOf([1, Number.NaN, 2])).toBeNaN();
});
