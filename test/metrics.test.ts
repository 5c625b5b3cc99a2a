/**
 * GET /metrics parses as Prometheus text (parse-prometheus-text-format, a port of the Prometheus
 * Python client's parser), and its series move as tasks run. It carries prom-client's default
 * process metrics, and two services in one process each expose their own series.
 */
import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Service } from "../src/service.js";
import { createTestDb, type TestDb } from "./helpers/db.js";
import { api, startTestService, waitFor } from "./helpers/service.js";

interface Sample {
  labels?: Record<string, string>;
  value?: string;
  buckets?: Record<string, string>;
  count?: string;
  sum?: string;
}
interface Family {
  name: string;
  help: string;
  type: "COUNTER" | "GAUGE" | "HISTOGRAM" | "SUMMARY" | "UNTYPED";
  metrics: Sample[];
}
const parse = createRequire(import.meta.url)("parse-prometheus-text-format") as (text: string) => Family[];

/**
 * The parser above validates every line and keeps counters and gauges, but folds all series of a
 * labelled histogram into one (a limitation of that library), so histogram series are read with
 * this strict line reader: `name{label="value",...} number`.
 */
function seriesOf(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const out: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`bad sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: m[3] === "+Inf" ? Number.POSITIVE_INFINITY : Number(m[3]) });
  }
  return out;
}

let tdb: TestDb;
let svc: Service;

beforeAll(async () => {
  tdb = await createTestDb();
  svc = await startTestService(tdb.url, { WORKER_CONCURRENCY: "3", PRUNE_INTERVAL_MS: "0" });
});
afterAll(async () => {
  await svc?.stop();
  await tdb?.drop();
});

let lastText = "";
async function scrape(base = svc.url): Promise<Map<string, Family>> {
  const res = await fetch(`${base}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  lastText = await res.text();
  const families = parse(lastText);
  return new Map(families.map((f) => [f.name, f]));
}

function sample(f: Family | undefined, labels: Record<string, string> = {}): Sample | undefined {
  return f?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
}
const value = (m: Map<string, Family>, name: string, labels: Record<string, string> = {}) => Number(sample(m.get(name), labels)?.value ?? 0);
/** Series of one histogram with exactly these labels (le aside), from the text of one scrape. */
function histogram(text: string, name: string, labels: Record<string, string>) {
  const same = (l: Record<string, string>) =>
    Object.keys(l).filter((k) => k !== "le").length === Object.keys(labels).length &&
    Object.entries(labels).every(([k, v]) => l[k] === v);
  const series = seriesOf(text).filter((s) => same(s.labels));
  return {
    buckets: series.filter((s) => s.name === `${name}_bucket`).map((s) => [Number(s.labels.le === "+Inf" ? Infinity : s.labels.le), s.value] as const),
    count: series.find((s) => s.name === `${name}_count`)?.value ?? 0,
    sum: series.find((s) => s.name === `${name}_sum`)?.value ?? 0,
  };
}

const infoInstances = (m: Map<string, Family>) => (m.get("baton_info")?.metrics ?? []).map((x) => x.labels?.instance);

describe("/metrics", () => {
  it("exposes every family with HELP and TYPE", async () => {
    const m = await scrape();
    const types = Object.fromEntries([...m.values()].map((f) => [f.name, f.type]));
    expect(types).toMatchObject({
      baton_task_attempts_total: "COUNTER",
      baton_task_duration_seconds: "HISTOGRAM",
      baton_task_queue_latency_seconds: "HISTOGRAM",
      baton_tasks: "GAUGE",
      baton_queue_depth: "GAUGE",
      baton_oldest_due_task_age_seconds: "GAUGE",
      baton_instances: "GAUGE",
      baton_instance_running_tasks: "GAUGE",
      baton_instance_concurrency: "GAUGE",
      baton_database_up: "GAUGE",
      baton_recovered_tasks_total: "COUNTER",
      baton_pruned_tasks_total: "COUNTER",
      baton_jobs_table_compactions_total: "COUNTER",
    });
    for (const f of m.values()) expect(f.help, f.name).not.toBe("");
    expect(value(m, "baton_instance_concurrency")).toBe(3);
    expect(value(m, "baton_database_up")).toBe(1);
    expect(value(m, "baton_instances", { state: "alive" })).toBe(1);
    for (const s of ["backlog", "pending", "processing", "retrying", "completed", "failed", "canceled"]) {
      expect(sample(m.get("baton_tasks"), { status: s }), s).toBeDefined();
    }
  });

  it("moves counters, histograms and gauges as tasks run", async () => {
    const before = await scrape();
    const beforeText = lastText;
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) ids.push((await api(svc.url, "POST", "/api/tasks", { type: "noop", title: `m${i}` })).body.id);
    const failing = await api(svc.url, "POST", "/api/tasks", {
      type: "simulate",
      payload: { durationMs: 50, failProbability: 1 },
      maxAttempts: 2,
      backoff: { baseMs: 1, maxMs: 10 },
    });
    expect(failing.status).toBe(201);
    const held = await api(svc.url, "POST", "/api/tasks", { type: "noop", hold: true });
    expect(held.status).toBe(201);
    await waitFor(async () => {
      const all = await Promise.all([...ids, failing.body.id].map((id) => api(svc.url, "GET", `/api/tasks/${id}`)));
      return all.every((t) => ["completed", "failed"].includes(t.body.status));
    });

    let after = before;
    await waitFor(async () => {
      after = await scrape();
      // SQL gauges are cached for 2 s: wait until the scrape sees the finished tasks
      return value(after, "baton_tasks", { status: "failed" }) >= 1;
    });
    const afterText = lastText;
    const delta = (name: string, labels: Record<string, string>) => value(after, name, labels) - value(before, name, labels);
    expect(delta("baton_task_attempts_total", { type: "noop", outcome: "succeeded" })).toBe(5);
    expect(delta("baton_task_attempts_total", { type: "simulate", outcome: "retry" })).toBe(1);
    expect(delta("baton_task_attempts_total", { type: "simulate", outcome: "failed" })).toBe(1);

    const dur = { type: "noop", outcome: "succeeded" };
    const durCount = (t: string) => histogram(t, "baton_task_duration_seconds", dur).count;
    expect(durCount(afterText) - durCount(beforeText)).toBe(5);
    const h = histogram(afterText, "baton_task_duration_seconds", { type: "simulate", outcome: "failed" });
    expect(h.count).toBe(1);
    for (let i = 1; i < h.buckets.length; i++) {
      expect(h.buckets[i][0]).toBeGreaterThan(h.buckets[i - 1][0]);
      expect(h.buckets[i][1]).toBeGreaterThanOrEqual(h.buckets[i - 1][1]);
    }
    expect(h.buckets.at(-1)).toEqual([Number.POSITIVE_INFINITY, 1]);
    expect(h.sum).toBeGreaterThanOrEqual(0.05); // at least its 50 ms
    expect(h.buckets.find(([le]) => le === 0.025)?.[1]).toBe(0);
    expect(h.buckets.find(([le]) => le === 10)?.[1]).toBe(1);

    const latCount = (t: string) => histogram(t, "baton_task_queue_latency_seconds", { type: "noop" }).count;
    expect(latCount(afterText) - latCount(beforeText)).toBe(5);

    expect(value(after, "baton_tasks", { status: "completed" })).toBe(5);
    expect(value(after, "baton_tasks", { status: "failed" })).toBe(1);
    expect(value(after, "baton_tasks", { status: "backlog" })).toBe(1);
    expect(value(after, "baton_queue_depth", { status: "backlog", type: "noop" })).toBe(1);
  });

  it("shows the running tasks of this instance", async () => {
    const r = await api(svc.url, "POST", "/api/tasks", { type: "simulate", payload: { durationMs: 60_000 } });
    await waitFor(() => svc.worker!.runningIds().includes(r.body.id));
    const m = await scrape();
    expect(value(m, "baton_instance_running_tasks")).toBe(1);
    expect((await api(svc.url, "POST", `/api/tasks/${r.body.id}/cancel`)).status).toBe(200);
    await waitFor(() => !svc.worker!.runningIds().includes(r.body.id));
    const m2 = await scrape();
    expect(value(m2, "baton_instance_running_tasks")).toBe(0);
    expect(value(m2, "baton_task_attempts_total", { type: "simulate", outcome: "canceled" })).toBe(1);
  });

  it("includes the default process metrics", async () => {
    const m = await scrape();
    expect(m.get("process_cpu_user_seconds_total")?.type).toBe("COUNTER");
    expect(m.get("process_resident_memory_bytes")?.type).toBe("GAUGE");
    expect(m.get("nodejs_eventloop_lag_seconds")?.type).toBe("GAUGE");
    expect(m.get("nodejs_heap_size_used_bytes")?.type).toBe("GAUGE");
    expect(value(m, "process_resident_memory_bytes")).toBeGreaterThan(0);
    expect(sample(m.get("nodejs_version_info"))?.labels?.version).toBe(process.version);
  });

  it("keeps a second in-process service's series apart (one registry per service)", async () => {
    const other = await startTestService(tdb.url, { INSTANCE_ID: "metrics-second", WORKER_CONCURRENCY: "7", PRUNE_INTERVAL_MS: "0" });
    try {
      const mine = await scrape();
      const theirs = await scrape(other.url);
      expect(value(theirs, "baton_instance_concurrency")).toBe(7);
      expect(value(mine, "baton_instance_concurrency")).toBe(3);
      expect(infoInstances(theirs)).toEqual(["metrics-second"]);
      expect(infoInstances(mine)).toEqual([svc.config.INSTANCE_ID]);
      // attempts counted by the first service are not the second's
      expect(value(mine, "baton_task_attempts_total", { type: "noop", outcome: "succeeded" })).toBeGreaterThan(0);
      expect(sample(theirs.get("baton_task_attempts_total"), { type: "noop", outcome: "succeeded" })).toBeUndefined();
      expect(theirs.get("process_cpu_user_seconds_total")).toBeDefined();
    } finally {
      await other.stop();
    }
  });

  it("is listed in the OpenAPI document", async () => {
    const doc = await api(svc.url, "GET", "/openapi.json");
    expect(doc.body.paths["/metrics"]?.get).toBeDefined();
  });
});
