/**
 * The torture soak judges "heap flat" on the live heap (scripts/torture/heap.ts): the heap in use
 * after full collections, read through a real Node process's inspector, and with
 * --heap-snapshots, snapshots taken by signal and summed per constructor. These tests show both
 * measures see a leak and not garbage: a process that retains objects between two readings shows
 * them (by size, and by class and count in the snapshots), and one that only makes garbage does not.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, expect, it } from "vitest";
import { heapGrowth, liveHeap, summariseHeap, takeHeapSnapshot } from "../scripts/torture/heap.js";
import { freePort } from "./helpers/process.js";

const dir = mkdtempSync(path.join(tmpdir(), "baton-heap-"));
const procs: ChildProcess[] = [];

afterAll(() => {
  for (const p of procs) p.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

/**
 * A Node process that retains `perSignal` RetainedByTest objects each time it gets SIGUSR1, and
 * makes about 0.4 MB of garbage every 5 ms.
 */
async function start(perSignal: number, inspectPort?: number): Promise<ChildProcess> {
  const code = `
    class RetainedByTest { constructor(i) { this.i = i; this.label = "kept " + i; } }
    const kept = [];
    process.on("SIGUSR1", () => { for (let i = 0; i < ${perSignal}; i++) kept.push(new RetainedByTest(i)); console.log("grew " + kept.length); });
    setInterval(() => { const garbage = []; for (let i = 0; i < 5000; i++) garbage.push({ i, s: "g" + i }); }, 5);
    console.log("ready");`;
  const flags = [`--heapsnapshot-signal=SIGUSR2`, `--diagnostic-dir=${dir}`, ...(inspectPort ? [`--inspect=127.0.0.1:${inspectPort}`] : [])];
  const p = spawn(process.execPath, [...flags, "-e", code], { stdio: ["ignore", "pipe", "ignore"] });
  procs.push(p);
  await waitForLine(p, "ready");
  return p;
}

function waitForLine(p: ChildProcess, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = "";
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes(text)) {
        p.stdout?.off("data", onData);
        resolve();
      }
    };
    p.stdout?.on("data", onData);
    p.once("exit", (c) => reject(new Error(`exited with ${c} before printing ${text}`)));
  });
}

it("a heap snapshot pair names the objects a process retained, with their count", async () => {
  const p = await start(20_000);
  const a = summariseHeap(await takeHeapSnapshot(p.pid as number, dir, 60_000));
  p.kill("SIGUSR1");
  await waitForLine(p, "grew 20000");
  const b = summariseHeap(await takeHeapSnapshot(p.pid as number, dir, 60_000));
  expect(a.liveBytes).toBeGreaterThan(1e6);
  expect(b.liveBytes - a.liveBytes).toBeGreaterThan(20_000 * 16);
  const top = heapGrowth(a, b, 5);
  const kept = top.find((g) => g.what === "RetainedByTest");
  expect(kept?.count).toBe(20_000);
  expect(kept?.bytes).toBeGreaterThan(20_000 * 16);
}, 120_000);

it("a process that retains nothing shows no such growth", async () => {
  const p = await start(0);
  const a = summariseHeap(await takeHeapSnapshot(p.pid as number, dir, 60_000));
  await sleep(200);
  const b = summariseHeap(await takeHeapSnapshot(p.pid as number, dir, 60_000));
  expect(heapGrowth(a, b, 50).find((g) => g.what === "RetainedByTest")).toBeUndefined();
  // two snapshots of an idle process: within 5 % of each other
  expect(Math.abs(b.liveBytes - a.liveBytes)).toBeLessThan(0.05 * a.liveBytes);
}, 120_000);

it("the live heap read through the inspector counts what is retained, not the garbage", async () => {
  const port = await freePort();
  const p = await start(50_000, port);
  const a = (await liveHeap(port)).bytes;
  p.kill("SIGUSR1");
  await waitForLine(p, "grew 50000");
  const b = (await liveHeap(port)).bytes;
  const last = await liveHeap(port);
  const c = last.bytes;
  expect(last.youngCommitted).toBeGreaterThan(0);
  // 50,000 objects, each with its string and array slot: well over 1.5 MB
  expect(b - a).toBeGreaterThan(1.5 * 2 ** 20);
  // the garbage made between two readings is not counted: they agree within 0.5 MB
  expect(Math.abs(c - b)).toBeLessThan(0.5 * 2 ** 20);
}, 120_000);
