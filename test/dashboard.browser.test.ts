/**
 * The dashboard in a real headless Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core) against two real baton processes on one database, with API keys on:
 * - the overview on instance A shows a task created through instance B's API (and one inserted in
 *   plain SQL) within 2 s, without a reload; B's public overview (PUBLIC_DASHBOARD) updates too;
 * - a running task is canceled from its page; bulk cancel / retry / delete through checkboxes;
 * - a schedule is created through the form: a bad cron shows the server's error inline, a good
 *   one previews the next runs; then pause, resume, run now;
 * - the notifications form works from the keyboard alone;
 * - every page: a screenshot in test-artifacts/screenshots/, no serious or critical axe-core
 *   violation, every control reachable with Tab, no Content-Security-Policy violation.
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

const haveChromium = chromiumFor("dashboard browser tests");
const { key: KEY, hash: HASH, auth: AUTH } = testKey();

let tdb: TestDb;
let A: Instance;
let B: Instance;
let browser: Browser;
let ctx: BrowserContext;
let page: Page;
const { watch, cspViolations, pageErrors } = pageWatcher();

/** expect.poll with a deadline that suits a noisy 2-core machine (the default is 1 s). */
const poll = <T>(fn: () => Promise<T> | T) => expect.poll(fn, { timeout: 8000, interval: 100 });

const call = (inst: Instance, method: string, p: string, body?: unknown) => api(inst.url, method, p, body, AUTH);

async function taskStatus(id: number): Promise<string> {
  return (await call(A, "GET", `/api/tasks/${id}`)).body.status;
}

async function live(p: Page): Promise<void> {
  await p.waitForSelector("#live-state[data-state='live']", { timeout: 10_000 });
}

async function signIn(p: Page, base: string): Promise<void> {
  await p.goto(`${base}/`);
  expect(new URL(p.url()).pathname).toBe("/login");
  await p.getByLabel("API key").fill(KEY);
  await p.getByRole("button", { name: "Sign in" }).click();
  await p.waitForURL(`${base}/`);
}

describe.skipIf(!haveChromium)("dashboard in Chromium", () => {
  beforeAll(async () => {
    tdb = await createTestDb();
    const env = { API_KEY_HASHES: HASH, SHUTDOWN_TIMEOUT_MS: "2000", LOG_LEVEL: "warn" };
    [A, B] = await Promise.all([
      spawnInstance(tdb.url, "dash-a", env),
      spawnInstance(tdb.url, "dash-b", { ...env, PUBLIC_DASHBOARD: "true" }),
    ]);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
    ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = watch(await ctx.newPage());
    mkdirSync(SHOTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([A?.stop(), B?.stop()]);
    await tdb?.drop();
  });

  it("overview on A shows a task created through B within 2 s, without a reload", async () => {
    await signIn(page, A.url);
    await live(page);
    await page.evaluate(() => {
      (window as unknown as { __sameDocument: boolean }).__sameDocument = true;
    });
    const count = async () => Number((await page.locator("#pending-count").textContent())?.replace(/,/g, ""));
    const before = await count();

    const runAt = new Date(Date.now() + 3_600_000).toISOString(); // stays pending
    const created = await call(B, "POST", "/api/tasks", { type: "noop", title: "created on B", runAt });
    expect(created.status).toBe(201);
    const t0 = Date.now();
    await page.waitForFunction((n) => document.querySelector("#pending-count")?.textContent === String(n), before + 1, { timeout: 2000 });
    const viaApiMs = Date.now() - t0;

    // A change made in plain SQL reaches the page the same way (trigger → NOTIFY → SSE).
    await tdb.database.sql`select baton.enqueue('noop', '{}'::jsonb, 'inserted in SQL', 0, null, now() + interval '1 hour')`;
    const t1 = Date.now();
    await page.waitForFunction((n) => document.querySelector("#pending-count")?.textContent === String(n), before + 2, { timeout: 2000 });
    const viaSqlMs = Date.now() - t1;

    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    console.info(`overview update latency: ${viaApiMs} ms after B's API answered, ${viaSqlMs} ms after the SQL insert`);
  });

  it("loads the page script as ES modules from one versioned folder, under the Content-Security-Policy", async () => {
    // A context of its own: an empty cache, so every module is fetched from the server and seen.
    const fresh = await browser.newContext();
    try {
      const p = watch(await fresh.newPage());
      await signIn(p, A.url);
      const scripts: { path: string; status: number; cache: string }[] = [];
      p.on("response", (r) => {
        const { pathname } = new URL(r.url());
        if (pathname.endsWith(".js")) scripts.push({ path: pathname, status: r.status(), cache: r.headers()["cache-control"] ?? "" });
      });
      const doc = await p.goto(`${A.url}/tasks`);
      await live(p);
      expect(doc?.headers()["content-security-policy"]).toContain("script-src 'self'");
      expect(await p.locator("script:not([src])").count(), "no inline script").toBe(0);
      expect(await p.locator("script[src]").getAttribute("type")).toBe("module");
      const names = scripts.map((r) => r.path.split("/").pop());
      expect(names).toEqual(expect.arrayContaining(["baton.js", "dom.js", "live.js", "tasks.js", "times.js", "schedules.js", "settings.js", "forms.js", "queues.js"]));
      const folders = [...new Set(scripts.map((r) => r.path.split("/").slice(0, -1).join("/")))];
      expect(folders).toHaveLength(1);
      expect(folders[0]).toMatch(/^\/assets\/[0-9a-f]{12}$/);
      for (const r of scripts) {
        expect(r.status, r.path).toBe(200);
        expect(r.cache, r.path).toContain("immutable");
      }
    } finally {
      await fresh.close();
    }
  });

  it("B's public overview needs no key and updates live from changes made through A", async () => {
    const anon = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const p = watch(await anon.newPage());
    await p.goto(`${B.url}/`);
    expect(new URL(p.url()).pathname).toBe("/");
    await live(p);
    expect(await p.locator("main a[href^='/tasks']").count()).toBe(0); // no links into key-only pages
    const before = Number(await p.locator("#pending-count").textContent());
    await call(A, "POST", "/api/tasks", { type: "noop", title: "for the public page", runAt: new Date(Date.now() + 3_600_000).toISOString() });
    await p.waitForFunction((n) => document.querySelector("#pending-count")?.textContent === String(n), before + 1, { timeout: 2000 });
    await p.screenshot({ path: path.join(SHOTS, "overview-public.png"), fullPage: true });
    // Other pages still need a key on B.
    await p.goto(`${B.url}/tasks`);
    expect(new URL(p.url()).pathname).toBe("/login");
    await anon.close();
  });

  it("cancels a running task from its page", async () => {
    const r = await call(B, "POST", "/api/tasks", { type: "simulate", title: "long job", payload: { durationMs: 30_000 } });
    const id = r.body.id as number;
    await waitFor(async () => (await taskStatus(id)) === "processing", { what: "task running" });
    await page.goto(`${A.url}/tasks/${id}`);
    await live(page);
    await poll(() => page.locator("#live-task").getAttribute("data-status")).toBe("processing");
    await page.getByRole("button", { name: "Cancel task" }).click();
    await waitFor(async () => (await taskStatus(id)) === "canceled", { timeoutMs: 5000, what: "task canceled" });
    await page.waitForSelector("#live-task[data-status='canceled']", { timeout: 5000 });
    await poll(() => page.locator("#toast").textContent()).toContain(`Task ${id} canceled`);
    const logs = (await call(A, "GET", `/api/tasks/${id}`)).body.logs.map((l: { event: string; message: string }) => `${l.event}:${l.message}`);
    expect(logs).toContain("canceled:canceled while processing");
    // The page now offers retry and delete instead of cancel.
    await poll(() => page.getByRole("button", { name: "Retry task" }).count()).toBe(1);
    expect(await page.getByRole("button", { name: "Cancel task" }).count()).toBe(0);
  });

  it("bulk cancel, retry and delete through the checkboxes", async () => {
    const batch = await call(A, "POST", "/api/tasks/batch", { tasks: [1, 2, 3].map((i) => ({ type: "noop", title: `bulk-${i}`, hold: true })) });
    const ids = batch.body.ids as number[];
    await page.goto(`${A.url}/tasks?search=bulk-`);
    await live(page);
    expect(await page.locator("tbody tr[data-task-id]").count()).toBe(3);

    // Select all from the keyboard, then cancel.
    await page.locator("[data-select-all]").focus();
    await page.keyboard.press("Space");
    await poll(() => page.locator("#selected-count").textContent()).toBe("3 selected");
    await page.getByRole("button", { name: "Cancel selected" }).click();
    await waitFor(async () => (await Promise.all(ids.map(taskStatus))).every((s) => s === "canceled"), { timeoutMs: 5000, what: "all canceled" });
    await poll(() => page.locator("tbody tr[data-status='canceled']").count()).toBe(3);

    // Retry the first one.
    await page.getByLabel(`Select task ${ids[0]}`).check();
    await page.getByRole("button", { name: "Retry selected" }).click();
    await waitFor(async () => (await taskStatus(ids[0])) !== "canceled", { timeoutMs: 5000, what: "retried" });

    // Delete the other two (the browser asks first).
    page.once("dialog", (d) => d.accept());
    await page.getByLabel(`Select task ${ids[1]}`).check();
    await page.getByLabel(`Select task ${ids[2]}`).check();
    await page.getByRole("button", { name: "Delete selected" }).click();
    await waitFor(async () => (await call(A, "GET", `/api/tasks/${ids[1]}`)).status === 404 && (await call(A, "GET", `/api/tasks/${ids[2]}`)).status === 404, {
      timeoutMs: 5000,
      what: "deleted",
    });
    await poll(() => page.locator("tbody tr[data-task-id]").count()).toBe(1);
  });

  it("creates a schedule through the form: server-side cron check inline, preview, then pause, resume, run now", async () => {
    await page.goto(`${A.url}/schedules`);
    await live(page);
    await page.getByLabel("Name", { exact: true }).fill("browser-made");
    await page.getByLabel("Task type").selectOption("noop");
    await page.getByLabel("Cron expression").fill("61 * * * *");
    const err = page.locator("#s-expression-error");
    await poll(() => err.isVisible()).toBe(true);
    expect(await err.textContent()).toMatch(/minute/i);
    expect(await page.getByLabel("Cron expression").getAttribute("aria-invalid")).toBe("true");
    await page.screenshot({ path: path.join(SHOTS, "schedules-cron-error.png"), fullPage: true });

    // Submitting anyway: the API refuses and the error stays next to the field.
    await page.getByRole("button", { name: "Create schedule" }).click();
    await poll(() => page.locator("#schedule-form-error").textContent()).toMatch(/expression/);
    expect(await page.locator("tr[data-schedule-id]").count()).toBe(0);

    await page.getByLabel("Cron expression").fill("*/5 * * * *");
    await page.getByLabel("Time zone").fill("Europe/Berlin");
    await poll(() => page.locator("#preview-runs li").count()).toBe(5);
    await poll(() => err.isVisible()).toBe(false);
    const first = await page.locator("#preview-runs li time").first().getAttribute("datetime");
    expect(new Date(first!).getUTCMinutes() % 5).toBe(0);

    await page.getByRole("button", { name: "Create schedule" }).click();
    const row = page.locator("tr[data-schedule-id]", { hasText: "browser-made" });
    await poll(() => row.count()).toBe(1);
    const sid = Number(await row.getAttribute("data-schedule-id"));
    const created = await call(A, "GET", `/api/schedules/${sid}`);
    expect(created.body).toMatchObject({ name: "browser-made", type: "noop", trigger: { kind: "cron", expression: "*/5 * * * *", timezone: "Europe/Berlin" } });

    await page.getByRole("button", { name: "Pause browser-made" }).click();
    await poll(async () => (await call(A, "GET", `/api/schedules/${sid}`)).body.status).toBe("paused");
    await poll(() => row.getAttribute("data-status")).toBe("paused");
    await page.getByRole("button", { name: "Resume browser-made" }).click();
    await poll(async () => (await call(A, "GET", `/api/schedules/${sid}`)).body.status).toBe("active");
    await page.getByRole("button", { name: "Run now browser-made" }).click();
    await poll(async () => (await call(A, "GET", `/api/tasks?scheduleId=${sid}`)).body.total).toBe(1);
    await page.getByRole("button", { name: "Pause browser-made" }).click(); // quiet for the rest of the file
    await poll(async () => (await call(A, "GET", `/api/schedules/${sid}`)).body.status).toBe("paused");
  });

  it("queues page: limits and counts update live from changes made through B and in SQL; pause and resume from the page", async () => {
    expect((await call(B, "PUT", "/api/queues/browser-exports", { concurrency: 3, rateLimit: { limit: 10, perSeconds: 1 }, paused: true })).status).toBe(200);
    await page.goto(`${A.url}/queues`);
    await live(page);
    const row = page.locator("tr[data-queue='browser-exports']");
    await poll(() => row.count()).toBe(1);
    expect(await row.locator("[data-field='concurrency']").textContent()).toBe("3");
    expect(await row.locator("[data-field='rateLimit']").textContent()).toBe("10 per 1 s");
    expect(await row.getAttribute("data-paused")).toBe("true");
    // tasks created through B while paused show as waiting on A's page, without a reload
    const r = await call(B, "POST", "/api/tasks/batch", { tasks: Array.from({ length: 4 }, () => ({ type: "simulate", queue: "browser-exports", payload: { durationMs: 30_000 } })) });
    expect(r.status).toBe(200);
    await poll(() => row.locator("[data-field='waiting']").textContent()).toBe("4");
    // a DBA's UPDATE shows too
    await tdb.database.sql`update baton.queues set concurrency = 2 where name = 'browser-exports'`;
    await poll(() => row.locator("[data-field='concurrency']").textContent()).toBe("2");
    await page.getByRole("button", { name: "Resume browser-exports" }).click();
    await poll(async () => (await call(A, "GET", "/api/queues/browser-exports")).body.paused).toBe(false);
    await poll(() => row.locator("[data-field='running']").textContent()).toBe("2");
    expect(await row.locator("[data-field='waiting']").textContent()).toBe("2");
    await page.getByRole("button", { name: "Pause browser-exports" }).click();
    await poll(async () => (await call(A, "GET", "/api/queues/browser-exports")).body.paused).toBe(true);
    await poll(() => row.getAttribute("data-paused")).toBe("true");
    await page.screenshot({ path: path.join(SHOTS, "queues-paused.png"), fullPage: true });
    for (const id of r.body.ids) await call(A, "POST", `/api/tasks/${id}/cancel`);
  });

  it("saves the notifications setting using only the keyboard", async () => {
    await page.goto(`${A.url}/settings`);
    await live(page);
    const tabTo = async (selector: string) => {
      for (let i = 0; i < 80; i++) {
        await page.keyboard.press("Tab");
        if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
      }
      throw new Error(`Tab never reached ${selector}`);
    };
    await tabTo("#n-enabled");
    await page.keyboard.press("Space");
    await tabTo("#n-url");
    await page.keyboard.type("http://127.0.0.1:9/hook");
    await tabTo("#n-format");
    await page.keyboard.press("ArrowUp"); // generic → feishu
    await tabTo("button[type='submit']");
    await page.keyboard.press("Enter");
    await poll(async () => (await call(A, "GET", "/api/settings/notifications")).body).toMatchObject({
      enabled: true,
      webhookUrl: "http://127.0.0.1:9/hook",
      format: "feishu",
    });
    // A bad value comes back from the server next to its field.
    await page.locator("#n-url").fill("not a url");
    await page.locator("#n-url").press("Enter");
    await poll(() => page.locator("#n-url-error").textContent()).toMatch(/http/);
    expect(await page.locator("#n-url").getAttribute("aria-invalid")).toBe("true");
    await call(A, "PUT", "/api/settings/notifications", { enabled: false });
  });

  it("shows hostile text as text", async () => {
    const title = `<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>`;
    const r = await call(A, "POST", "/api/tasks", {
      type: "noop",
      title,
      hold: true,
      conversations: [{ content: `</td><script>window.__xss=3</script>`, role: `"><svg onload="window.__xss=4">` }],
    });
    for (const p of [`/tasks/${r.body.id}`, `/tasks?search=${encodeURIComponent("<img")}`]) {
      await page.goto(`${A.url}${p}`);
      await live(page);
      expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
      expect(await page.getByText(title).count()).toBeGreaterThan(0);
    }
  });

  it("every page: screenshot, no serious or critical axe violation, every control reachable by keyboard", async () => {
    const some = (await call(A, "GET", "/api/tasks?limit=1")).body.items[0].id;
    const pages = [
      ["overview", "/"],
      ["tasks", "/tasks"],
      ["task", `/tasks/${some}`],
      ["schedules", "/schedules"],
      ["queues", "/queues"],
      ["task-types", "/task-types"],
      ["instances", "/instances"],
      ["settings", "/settings"],
    ] as const;
    const report: string[] = [];
    for (const [name, p] of pages) {
      await page.goto(`${A.url}${p}`);
      await live(page);
      await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

      await page.evaluate(AXE); // evaluate is not subject to the page's CSP; a <script> tag would be
      const violations = await page.evaluate(async () => {
        const axe = (window as unknown as { axe: { run: (ctx: Document, o: object) => Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe;
        const r = await axe.run(document, { resultTypes: ["violations"] });
        return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
      });
      const bad = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
      expect(bad, `${name}: ${JSON.stringify(bad)}`).toEqual([]);
      if (violations.length) report.push(`${name}: ${violations.map((v) => `${v.id}(${v.impact})`).join(", ")}`);

      // Every visible link, button and form control receives focus when tabbing through the page.
      const unreachable = await page.evaluate(async () => {
        const sel = "a[href], button:not([disabled]), input:not([type='hidden']):not([disabled]), select:not([disabled]), textarea:not([disabled]), summary";
        const visible = (el: Element) => {
          const r = (el as HTMLElement).getBoundingClientRect();
          return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== "hidden";
        };
        const all = Array.from(document.querySelectorAll(sel)).filter(visible);
        // Radio groups take one tab stop: count a group as reached when any of its radios is.
        // Controls are named by their markup without style attributes: a live update may
        // re-render a row (same markup) or a script may toggle an inline style meanwhile.
        const key = (el: Element) =>
          el instanceof HTMLInputElement && el.type === "radio" ? `radio:${el.name}` : el.outerHTML.replace(/\sstyle="[^"]*"/g, "").slice(0, 80);
        (window as unknown as { __controlKey: typeof key }).__controlKey = key; // the focus listener below names them the same way
        const want = new Set(all.map(key));
        return { total: all.length, names: [...want] };
      });
      await page.evaluate(() => {
        const w = window as unknown as { __focused: string[]; __controlKey: (el: Element) => string };
        w.__focused = [];
        (document.activeElement as HTMLElement | null)?.blur();
        document.addEventListener("focusin", (e) => w.__focused.push(w.__controlKey(e.target as Element)));
      });
      for (let i = 0; i < unreachable.total + 5; i++) await page.keyboard.press("Tab");
      const reached = new Set(await page.evaluate(() => (window as unknown as { __focused: string[] }).__focused));
      const missing = unreachable.names.filter((n) => !reached.has(n));
      expect(missing, `${name}: not reachable with Tab`).toEqual([]);
    }
    if (report.length) console.info(`axe (minor/moderate only): ${report.join("; ")}`);
    expect(cspViolations).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
