/**
 * The live heap of an instance, measured two ways. The heap in use that /metrics reports also
 * counts garbage not yet collected, so it cannot tell a leak from a collector that runs less often.
 *
 * - liveHeap: through the instance's inspector (`--inspect=127.0.0.1:<port>`, cluster.ts),
 *   one evaluation that runs two full collections and reads the heap in use. The soak reads it
 *   once a minute: what survives collection (and what work in flight holds at that moment).
 * - heap snapshots (`--heap-snapshots`): SIGUSR2 makes Node (`--heapsnapshot-signal=SIGUSR2`)
 *   write `Heap.<date>.<time>.<pid>.<thread>.<seq>.heapsnapshot` into `--diagnostic-dir`, a full
 *   collection first; two of them, summed per constructor, name what grew. Writing one blocks the
 *   instance for a second or two, and the memory it takes to write stays in the process's RSS
 *   (malloc keeps it: a 40 MB heap's snapshot raised RSS by about 90–130 MB in a trial soak), so a run with
 *   snapshots does not judge RSS.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export const HEAP_DIR = path.resolve(import.meta.dirname, "../../test-artifacts/heap");

/** The node flags that let the run read an instance's live heap and ask it for a snapshot. */
export const heapNodeOptions = (inspectPort: number): string =>
  `--inspect=127.0.0.1:${inspectPort} --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${HEAP_DIR}`;

/** Starts a run with an empty snapshot folder (a snapshot is about twice the heap in size). */
export function clearHeapDir(): void {
  rmSync(HEAP_DIR, { recursive: true, force: true });
  mkdirSync(HEAP_DIR, { recursive: true });
}

const LIVE_HEAP_EXPRESSION = `(() => {
  process.getBuiltinModule("v8").setFlagsFromString("--expose-gc");
  const gc = process.getBuiltinModule("vm").runInNewContext("gc");
  gc(); gc();
  const young = process.getBuiltinModule("v8").getHeapSpaceStatistics().find((x) => x.space_name === "new_space");
  return { heapUsed: process.memoryUsage().heapUsed, youngCommitted: young ? young.space_size : NaN };
})()`;

export interface LiveHeap {
  /** the heap in use after the collections */
  bytes: number;
  /** what V8 holds committed for its young generation (new space), which it grows under load */
  youngCommitted: number;
}

/**
 * The heap in use after full collections, through the inspector on `port` (127.0.0.1).
 * Rejects after `timeoutMs`.
 */
export async function liveHeap(port: number, timeoutMs = 30_000): Promise<LiveHeap> {
  const signal = AbortSignal.timeout(timeoutMs);
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`, { signal })).json()) as { webSocketDebuggerUrl: string }[];
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
  try {
    type Answer = { id?: number; result?: { result?: { value?: unknown } }; error?: { message: string } };
    const pending = new Map<number, (r: Answer) => void>();
    ws.addEventListener("message", (e) => {
      const msg = JSON.parse(String(e.data)) as Answer;
      if (msg.id !== undefined) pending.get(msg.id)?.(msg);
    });
    const failed = new Promise<never>((_, reject) => {
      ws.addEventListener("error", () => reject(new Error(`inspector on port ${port}: connection failed`)));
      signal.addEventListener("abort", () => reject(new Error(`inspector on port ${port}: no answer within ${timeoutMs / 1000} s`)));
    });
    let seq = 0;
    const call = (method: string, params: Record<string, unknown> = {}) => {
      const id = ++seq;
      const answer = new Promise<Answer>((resolve) => pending.set(id, resolve));
      ws.send(JSON.stringify({ id, method, params }));
      return Promise.race([answer, failed]).then((r) => {
        if (r.error) throw new Error(`inspector ${method}: ${r.error.message}`);
        return r.result;
      });
    };
    await Promise.race([new Promise((resolve) => ws.addEventListener("open", resolve, { once: true })), failed]);
    // the collections and the reading in one evaluation: no JavaScript of the instance runs
    // between them to allocate (gc is V8's, exposed to a fresh context only)
    const r = await call("Runtime.evaluate", { expression: LIVE_HEAP_EXPRESSION, returnByValue: true });
    const v = r?.result?.value as { heapUsed?: number; youngCommitted?: number } | undefined;
    if (!Number.isFinite(v?.heapUsed)) throw new Error(`inspector on port ${port}: no heap figure`);
    return { bytes: Number(v?.heapUsed), youngCommitted: Number(v?.youngCommitted) };
  } finally {
    ws.close();
  }
}

export interface HeapSummary {
  file: string;
  /** sum of every node's self size: the heap that survived a full collection */
  liveBytes: number;
  nodes: number;
  /** self size and count per constructor (objects, closures, native) or per kind `(string)` */
  byKind: Map<string, { bytes: number; count: number }>;
}

/**
 * Asks the process (started with `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=<dir>`) for a
 * snapshot and resolves to its file once written (the file ends the JSON and stops growing).
 * Rejects after `timeoutMs`.
 */
export async function takeHeapSnapshot(pid: number, dir = HEAP_DIR, timeoutMs = 120_000): Promise<string> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, "SIGUSR2");
  const deadline = Date.now() + timeoutMs;
  let lastSize = -1;
  while (Date.now() < deadline) {
    await sleep(500);
    const name = readdirSync(dir).find((f) => !before.has(f) && f.includes(`.${pid}.`) && f.endsWith(".heapsnapshot"));
    if (!name) continue;
    const file = path.join(dir, name);
    const size = statSync(file).size;
    if (size > 0 && size === lastSize && endsJson(file, size)) return file;
    lastSize = size;
  }
  throw new Error(`no heap snapshot of process ${pid} within ${timeoutMs / 1000} s`);
}

/** The last bytes close the JSON (the writer is done with it). */
function endsJson(file: string, size: number): boolean {
  const fd = openSync(file, "r");
  try {
    const tail = Buffer.alloc(Math.min(16, size));
    readSync(fd, tail, 0, tail.length, size - tail.length);
    return tail.toString("latin1").trimEnd().endsWith("]}");
  } finally {
    closeSync(fd);
  }
}

interface SnapshotJson {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Reads a snapshot and sums its nodes' self sizes, in all and per constructor. */
export function summariseHeap(file: string): HeapSummary {
  if (!existsSync(file)) throw new Error(`no such snapshot: ${file}`);
  const snap = JSON.parse(readFileSync(file, "utf8")) as SnapshotJson;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const fType = fields.indexOf("type");
  const fName = fields.indexOf("name");
  const fSize = fields.indexOf("self_size");
  const byKind = new Map<string, { bytes: number; count: number }>();
  let liveBytes = 0;
  let nodes = 0;
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + fType]];
    const size = snap.nodes[i + fSize];
    const name = snap.strings[snap.nodes[i + fName]];
    // what DevTools' summary groups by: constructors for objects, the kind for everything else
    const key = type === "object" || type === "native" ? name : type === "closure" ? `${name}()` : `(${type})`;
    const k = byKind.get(key) ?? { bytes: 0, count: 0 };
    k.bytes += size;
    k.count++;
    byKind.set(key, k);
    liveBytes += size;
    nodes++;
  }
  return { file, liveBytes, nodes, byKind };
}

export interface HeapGrowth {
  what: string;
  bytes: number;
  count: number;
}

/** The kinds whose self size grew the most from `a` to `b`. */
export function heapGrowth(a: HeapSummary, b: HeapSummary, top = 8): HeapGrowth[] {
  const out: HeapGrowth[] = [];
  for (const [what, v] of b.byKind) {
    const was = a.byKind.get(what) ?? { bytes: 0, count: 0 };
    out.push({ what, bytes: v.bytes - was.bytes, count: v.count - was.count });
  }
  return out.sort((x, y) => y.bytes - x.bytes).slice(0, top);
}
