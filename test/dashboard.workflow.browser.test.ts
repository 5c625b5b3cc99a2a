/**
 * Workflows on the dashboard, in a real headless Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core) against a real baton process with API keys on:
 * - a diamond (split → part-1, part-2 → join) of `simulate` tasks, created through the batch API
 *   and held at the start by a paused queue: the join task's page draws 4 tasks and 4 arrows in
 *   3 layers, with the join highlighted; once the queue is resumed the tasks' status and colour
 *   change on the page without a reload (recoloured in place from GET /api/tasks/{id}/graph),
 *   the progress bars of running tasks move on the tasks list and on the join's page, and axe
 *   finds no serious or critical violation;
 * - a workflow of 521 tasks draws 500 and says that 21 are not shown;
 * - a task that gains a dependent while its page is open shows the graph without a reload.
 * Every wait is on a state of the page or the database; no assertion depends on how long
 * anything took.
 *
 * Without /usr/bin/chromium the file is skipped with a message, except under CI=true, where it
 * fails.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AXE, chromiumFor, CHROMIUM, pageWatcher, SHOTS, testKey } from "./helpers/browser.js";
import { createTestDb, type TestDb } from "./helpers/db.js";
import { type Instance, spawnInstance } from "./helpers/process.js";
import { api, waitFor } from "./helpers/service.js";
import { layoutWorkflow, nearest } from "../src/dashboard/workflow.js";

const haveChromium = chromiumFor("dashboard workflow browser tests");
const { key: KEY, hash: HASH, auth: AUTH } = testKey();

let tdb: TestDb;
let A: Instance;
let browser: Browser;
let ctx: BrowserContext;
let page: Page;
const { watch, cspViolations, pageErrors } = pageWatcher();

/** expect.poll with deadlines that suit a noisy 2-core machine. */
const poll = <T>(fn: () => Promise<T> | T, timeout = 30_000) => expect.poll(fn, { timeout, interval: 100 });

const call = (method: string, p: string, body?: unknown) => api(A.url, method, p, body, AUTH);
const taskStatus = async (id: number): Promise<string> => (await call("GET", `/api/tasks/${id}`)).body.status;

async function live(p: Page): Promise<void> {
  await p.waitForSelector("#live-state[data-state='live']", { timeout: 10_000 });
}

/** Marks the document; sameDocument() is true only while no navigation or reload happened. */
async function markDocument(p: Page): Promise<void> {
  await p.evaluate(() => {
    (window as unknown as { __sameDocument: boolean }).__sameDocument = true;
  });
}
const sameDocument = (p: Page) => p.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument === true);

/** Serious and critical axe-core violations of the page as it is now (the rule of dashboard.browser.test.ts). */
async function axeViolations(p: Page, name: string): Promise<{ id: string; impact: string; nodes: string[] }[]> {
  await p.evaluate(AXE); // evaluate is not subject to the page's CSP; a <script> tag would be
  const violations = await p.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, o: object) => Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe;
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
  });
  const minor = violations.filter((v) => v.impact !== "serious" && v.impact !== "critical");
  if (minor.length) console.info(`axe on ${name} (minor/moderate only): ${minor.map((v) => `${v.id}(${v.impact})`).join(", ")}`);
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}

const node = (p: Page, id: number) => p.locator(`#workflow .wf-node[data-id="${id}"]`);
const fillOf = (p: Page, id: number) => node(p, id).locator(".wf-box").evaluate((r) => getComputedStyle(r).fill);
const progressValue = (loc: ReturnType<Page["locator"]>) => loc.evaluate((e) => (e as HTMLProgressElement).value);

describe.skipIf(!haveChromium)("workflows on the dashboard in Chromium", () => {
  beforeAll(async () => {
    tdb = await createTestDb();
    A = await spawnInstance(tdb.url, "wf-dash", { API_KEY_HASHES: HASH, SHUTDOWN_TIMEOUT_MS: "2000", LOG_LEVEL: "warn" });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
    ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = watch(await ctx.newPage());
    mkdirSync(SHOTS, { recursive: true });
    await page.goto(`${A.url}/`);
    await page.getByLabel("API key").fill(KEY);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${A.url}/`);
  });

  afterAll(async () => {
    await browser?.close();
    await A?.stop();
    await tdb?.drop();
  });

  it("diamond: 4 tasks and 4 arrows in layers, recoloured live as it runs, moving progress bars, no axe violation", async () => {
    // The split waits in a paused queue, so the page first sees every task waiting.
    expect((await call("PUT", "/api/queues/wf-gate", { paused: true })).status).toBe(200);
    const created = await call("POST", "/api/tasks/batch", {
      tasks: [
        { ref: "split", type: "simulate", title: "wf split", queue: "wf-gate", payload: { durationMs: 3000 } },
        { ref: "part-1", type: "simulate", title: "wf part 1", dependsOn: ["split"], payload: { durationMs: 20_000 } },
        { ref: "part-2", type: "simulate", title: "wf part 2", dependsOn: ["split"], payload: { durationMs: 20_000 } },
        { ref: "join", type: "simulate", title: "wf join", dependsOn: ["part-1", "part-2"], payload: { durationMs: 16_000 } },
      ],
    });
    expect(created.status).toBe(200);
    const { split, "part-1": p1, "part-2": p2, join } = created.body.refs as Record<string, number>;
    const all = [split, p1, p2, join];
    for (const id of all) expect(await taskStatus(id)).toBe("waiting");

    const graphFetches: string[] = [];
    page.on("request", (r) => {
      if (new URL(r.url()).pathname === `/api/tasks/${join}/graph`) graphFetches.push(r.url());
    });
    await page.goto(`${A.url}/tasks/${join}`);
    await live(page);
    await markDocument(page);

    // the drawing: 4 nodes, 4 arrows from parent to child, layers by longest path, join highlighted
    const svg = page.locator("#workflow svg.wf");
    expect(await svg.count()).toBe(1);
    expect(await svg.locator(".wf-node").count()).toBe(4);
    expect(await svg.locator(".wf-edge").count()).toBe(4);
    const edges = await svg.locator(".wf-edge").evaluateAll((ps) => ps.map((p) => `${p.getAttribute("data-from")}>${p.getAttribute("data-to")}`).sort());
    expect(edges).toEqual([`${split}>${p1}`, `${split}>${p2}`, `${p1}>${join}`, `${p2}>${join}`].sort());
    expect(await svg.locator(".wf-edge").evaluateAll((ps) => ps.map((p) => p.getAttribute("marker-end")))).toEqual(Array(4).fill("url(#wf-arrow)"));
    expect(await svg.locator("marker#wf-arrow path").count()).toBe(1);
    const layers = Object.fromEntries(await Promise.all(all.map(async (id) => [id, await node(page, id).getAttribute("data-layer")])));
    expect(layers).toEqual({ [split]: "0", [p1]: "1", [p2]: "1", [join]: "2" });
    // parents left of children, the two parts one above the other
    const box = (id: number) => node(page, id).locator(".wf-box").evaluate((r) => ({ x: Number(r.getAttribute("x")), y: Number(r.getAttribute("y")) }));
    const [bs, b1, b2, bj] = await Promise.all(all.map(box));
    expect(bs.x).toBeLessThan(b1.x);
    expect(b1.x).toBe(b2.x);
    expect(b1.y).not.toBe(b2.y);
    expect(b1.x).toBeLessThan(bj.x);
    for (const id of all) {
      expect(await node(page, id).getAttribute("href")).toBe(`/tasks/${id}`);
      expect(await node(page, id).getAttribute("data-status")).toBe("waiting");
      expect(await node(page, id).locator(".wf-status").textContent()).toBe("waiting");
    }
    expect(await node(page, join).getAttribute("aria-current")).toBe("page");
    expect(await node(page, join).getAttribute("class")).toContain("current");
    expect(await svg.locator(".wf-node.current").count()).toBe(1);
    expect(await page.getByRole("link", { name: `#${join} wf join, waiting, this task, waits for #${p1}, #${p2}`, exact: true }).count()).toBe(1);
    // the same element must still be there at the end: recoloured in place, not replaced
    await svg.evaluate((el) => {
      (el as unknown as { __probe: boolean }).__probe = true;
    });
    // every node is a tab stop, in the page's order
    await page.evaluate(() => {
      const w = window as unknown as { __tabbed: string[] };
      w.__tabbed = [];
      (document.activeElement as HTMLElement | null)?.blur();
      document.addEventListener("focusin", (e) => {
        const id = (e.target as Element).closest?.(".wf-node")?.getAttribute("data-id");
        if (id) w.__tabbed.push(id);
      });
    });
    for (let i = 0; i < 40; i++) await page.keyboard.press("Tab");
    expect(await page.evaluate(() => (window as unknown as { __tabbed: string[] }).__tabbed)).toEqual(expect.arrayContaining(all.map(String)));
    // a live re-render asks for the live regions only, and the server leaves the graph out of it
    const pageHtml = async (headers: Record<string, string>) => (await fetch(`${A.url}/tasks/${join}`, { headers: { ...AUTH, ...headers } })).text();
    expect(await pageHtml({})).toContain('id="workflow"');
    const regions = await pageHtml({ "x-baton-refresh": "regions" });
    expect(regions).toContain('id="live-task"');
    expect(regions).not.toContain('id="workflow"');
    const waitingFill = await fillOf(page, split);
    expect(await axeViolations(page, "workflow (waiting)")).toEqual([]);
    await page.screenshot({ path: path.join(SHOTS, "workflow-waiting.png"), fullPage: true });

    // the tasks list in a second tab, for the parts' bars
    const list = watch(await ctx.newPage());
    await list.goto(`${A.url}/tasks?search=${encodeURIComponent("wf part")}`);
    await live(list);
    await markDocument(list);

    expect((await call("POST", "/api/queues/wf-gate/resume")).status).toBe(200);

    // split: waiting → (processing →) completed on the page, without a reload; colour and text change
    await poll(() => node(page, split).getAttribute("data-status")).toBe("completed");
    expect(await node(page, split).locator(".wf-status").textContent()).toBe("completed");
    expect(await node(page, split).getAttribute("aria-label")).toContain("completed");
    const completedFill = await fillOf(page, split);
    expect(completedFill).not.toBe(waitingFill);
    // its arrows turn solid
    await poll(() => svg.locator(`.wf-edge.met[data-from="${split}"]`).count()).toBe(2);

    // parts: the list shows a processing part's bar, and its value grows without a reload
    const bar = list.locator(`tr[data-task-id="${p1}"] progress`);
    await poll(() => bar.count()).toBe(1);
    expect(await list.getByRole("progressbar", { name: `Progress of task ${p1}` }).count()).toBe(1);
    const firstListValue = await progressValue(bar);
    expect(firstListValue).toBeGreaterThan(0);
    expect(firstListValue).toBeLessThan(100);
    await poll(async () => ((await bar.count()) ? await progressValue(bar) : -1)).toBeGreaterThan(firstListValue);
    await list.screenshot({ path: path.join(SHOTS, "tasks-progress.png"), fullPage: true });
    expect(await axeViolations(list, "tasks list with progress")).toEqual([]);
    expect(await sameDocument(list)).toBe(true);
    await list.close();

    // join: its own bar appears on its page once it runs and moves; its node says processing
    await poll(() => node(page, join).getAttribute("data-status"), 40_000).toBe("processing");
    const own = page.getByRole("progressbar", { name: "Progress" });
    await poll(() => own.count()).toBe(1);
    const firstValue = await progressValue(own);
    expect(firstValue).toBeGreaterThan(0);
    expect(firstValue).toBeLessThan(100);
    await poll(async () => ((await own.count()) ? await progressValue(own) : -1)).toBeGreaterThan(firstValue);
    expect(await page.locator("#task-progress").getAttribute("max")).toBe("100");
    expect(await page.locator("#task-progress-text").textContent()).toMatch(/^\d+(\.\d)?% · (waited \d+ of 16000 ms|done waiting)/);
    await poll(() => node(page, join).locator(".wf-status").textContent()).toMatch(/^processing · \d+%$/);
    expect(await axeViolations(page, "workflow (join running)")).toEqual([]);
    await page.screenshot({ path: path.join(SHOTS, "workflow-running.png"), fullPage: true });

    await poll(() => node(page, join).getAttribute("data-status"), 40_000).toBe("completed");
    await poll(() => page.locator("#live-task").getAttribute("data-status")).toBe("completed");
    for (const id of all) expect(await taskStatus(id)).toBe("completed");
    for (const id of all) expect(await node(page, id).getAttribute("data-status")).toBe("completed");
    expect(await svg.locator(".wf-edge.met").count()).toBe(4);
    // the page script names a node as the server does
    expect(await node(page, join).getAttribute("aria-label")).toBe(`#${join} wf join, completed, this task, waits for #${p1}, #${p2}`);
    expect(await node(page, split).locator("title").textContent()).toBe(`#${split} wf split, completed`);

    expect(await sameDocument(page)).toBe(true);
    expect(await page.locator("#workflow svg.wf").evaluate((el) => (el as unknown as { __probe?: boolean }).__probe)).toBe(true);
    expect(graphFetches.length).toBeGreaterThan(0);
    console.info(`the join's page re-read its graph ${graphFetches.length} times while the diamond ran`);
    expect(cspViolations).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it("a workflow larger than the drawing cap draws 500 tasks and says how many are not shown", async () => {
    const root = (await call("POST", "/api/tasks", { type: "noop", title: "wide root", hold: true })).body.id as number;
    const children = await call("POST", "/api/tasks/batch", {
      tasks: Array.from({ length: 520 }, (_, i) => ({ type: "noop", title: `wide child ${i}`, dependsOn: [root] })),
    });
    expect(children.status).toBe(200);
    expect(children.body.created).toBe(520);
    await page.goto(`${A.url}/tasks/${root}`);
    await live(page);
    await markDocument(page);
    const svg = page.locator("#workflow svg.wf");
    expect(await svg.locator(".wf-node").count()).toBe(500);
    expect(await svg.locator(".wf-edge").count()).toBe(499);
    expect(await page.locator("#workflow-hidden").getAttribute("data-hidden")).toBe("21");
    expect(await page.locator("#workflow-hidden").textContent()).toContain("21 tasks are not shown");
    expect(await node(page, root).getAttribute("aria-current")).toBe("page");
    // the root sits in the middle of a tall column: its box is scrolled to it
    await poll(() =>
      page.evaluate((id) => {
        const scroller = document.querySelector("#workflow .wf-scroll") as HTMLElement;
        const r = document.querySelector(`#workflow .wf-node[data-id="${id}"] .wf-box`)!.getBoundingClientRect();
        const s = scroller.getBoundingClientRect();
        return scroller.scrollTop > 0 && r.top >= s.top && r.bottom <= s.bottom;
      }, root),
    ).toBe(true);
    // a keyboard user can skip the 500 links
    expect(await page.getByRole("link", { name: "Skip the workflow graph" }).getAttribute("href")).toBe("#h-fields");
    // still recoloured live: cancel a drawn child
    const drawnChild = Number(await svg.locator(".wf-node:not(.current)").first().getAttribute("data-id"));
    expect((await call("POST", `/api/tasks/${drawnChild}/cancel`)).status).toBe(200);
    await poll(() => node(page, drawnChild).getAttribute("data-status")).toBe("canceled");
    expect(await sameDocument(page)).toBe(true);
    expect(await axeViolations(page, "workflow (521 tasks)")).toEqual([]);
    await page.screenshot({ path: path.join(SHOTS, "workflow-large.png") });
  });

  it("a task that gains a dependent while its page is open shows its graph without a reload", async () => {
    const lone = (await call("POST", "/api/tasks", { type: "noop", title: "lone parent", hold: true })).body.id as number;
    await page.goto(`${A.url}/tasks/${lone}`);
    await live(page);
    await markDocument(page);
    expect(await page.locator("#workflow").count()).toBe(0);
    const child = (await call("POST", "/api/tasks", { type: "noop", title: "late child", dependsOn: [lone] })).body.id as number;
    await waitFor(async () => (await taskStatus(child)) === "waiting", { what: "child waiting" });
    await poll(() => page.locator("#workflow .wf-node").count()).toBe(2);
    expect(await page.locator("#workflow .wf-edge").getAttribute("data-from")).toBe(String(lone));
    expect(await page.locator("#workflow .wf-edge").getAttribute("data-to")).toBe(String(child));
    expect(await node(page, lone).getAttribute("aria-current")).toBe("page");
    expect(await node(page, child).getAttribute("data-status")).toBe("waiting");
    await poll(() => page.locator("#live-task-details dd a", { hasText: `#${child}` }).count()).toBe(1);
    expect(await sameDocument(page)).toBe(true);
    expect(cspViolations).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});

describe("workflow layout (pure, src/dashboard/workflow.ts)", () => {
  it("puts a task in the layer of its longest path from a root, parents left of children", () => {
    // 1 → 2 → 3 and 1 → 3: 3 is in layer 2, not 1
    const g = layoutWorkflow(3, [{ id: 1 }, { id: 2 }, { id: 3 }, { id: 4 }], [
      { from: 1, to: 2 },
      { from: 2, to: 3 },
      { from: 1, to: 3 },
      { from: 4, to: 3 },
    ]);
    const at = new Map(g.nodes.map((n) => [n.node.id, n]));
    expect([1, 2, 3, 4].map((id) => at.get(id)?.layer)).toEqual([0, 1, 2, 0]);
    for (const e of g.edges) expect(at.get(e.from)!.x).toBeLessThan(at.get(e.to)!.x);
    expect(g.layers).toBe(3);
    expect(g.hidden).toBe(0);
  });

  it("draws at most the cap, nearest the current task first", () => {
    // a chain 1 → 2 → … → 10; from 5, four tasks are 5 and its closest neighbours
    const ids = Array.from({ length: 10 }, (_, i) => i + 1);
    const edges = ids.slice(1).map((id) => ({ from: id - 1, to: id }));
    expect([...nearest(5, ids, edges, 4)].sort((a, b) => a - b)).toEqual([3, 4, 5, 6]);
    const g = layoutWorkflow(5, ids.map((id) => ({ id })), edges, 4);
    expect(g.nodes).toHaveLength(4);
    expect(g.hidden).toBe(6);
    expect(g.edges).toHaveLength(3);
  });
});
