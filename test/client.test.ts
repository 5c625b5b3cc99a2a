/**
 * The TypeScript client (`baton/client`) against a real instance that requires an API key: a full
 * lifecycle (create and wait, list pages, cancel, retry, batch), a workflow created with refs (a
 * diamond whose tasks run in dependency order, its graph, bad refs as BatonProblems naming the
 * field), problem errors as BatonProblem, log rows followed live, the committed types checked
 * against the live /openapi.json, and the client bundled for the browser and run in a real Chromium.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { build } from "esbuild";
import { chromium } from "playwright-core";
import { describe, expect, it } from "vitest";
import { generateClientTypes, TYPES_FILE } from "../scripts/client-types.js";
import { generateKey } from "../src/api/security/keys.js";
import { BatonProblem, BatonTimeout, createClient, type TaskDetail, type TaskLog, type WorkflowTask } from "../src/client/index.js";
import { serviceForFile } from "./helpers/service.js";

const ROOT = path.resolve(import.meta.dirname, "..");
const { key, hash } = generateKey();
const ctx = serviceForFile({ API_KEY_HASHES: hash });
const client = () => createClient({ baseUrl: ctx.svc.url, apiKey: key });
const liveDocument = async () => (await fetch(`${ctx.svc.url}/openapi.json`, { headers: { authorization: `Bearer ${key}` } })).json();

describe("generated types", () => {
  it("src/client/openapi.ts is what openapi-typescript makes of the live /openapi.json (npm run client:types)", async () => {
    const doc = await liveDocument();
    const fresh = await generateClientTypes(doc);
    expect(readFileSync(TYPES_FILE, "utf8") === fresh, "src/client/openapi.ts is stale: run npm run client:types").toBe(true);
  });

  it("the comparison can fail: a document with one more field generates different types", async () => {
    const doc = await liveDocument();
    doc.components.schemas.Task.properties.extra = { type: "string" };
    expect(await generateClientTypes(doc)).not.toBe(readFileSync(TYPES_FILE, "utf8"));
  });

  it("types the calls: a wrong body or a missing path parameter does not compile", () => {
    const c = client();
    // Never called; what is checked is that tsc (npm run typecheck) rejects these lines.
    const unused = () => {
      // @ts-expect-error priority is an integer, not a string
      void c.POST("/api/tasks", { body: { type: "noop", priority: "high" } });
      // @ts-expect-error the id path parameter is required
      void c.GET("/api/tasks/{id}", {});
      // @ts-expect-error no such operation
      void c.GET("/api/nowhere");
    };
    expect(typeof unused).toBe("function");
  });
});

describe("lifecycle through the client", () => {
  it("creates a task and waits for its outcome on the event stream", async () => {
    const c = client();
    // With a poll of 10 minutes, only the /events stream can wake the wait in time.
    const task = await c.createAndWait({ type: "simulate", title: "client wait", payload: { durationMs: 300 } }, { pollMs: 600_000, timeoutMs: 60_000 });
    expect(task.status).toBe("completed");
    expect(task.attempts).toBe(1);
    expect(task.logs.map((l) => l.event)).toContain("succeeded");
  });

  it("waits with a bounded poll when asked not to use the stream", async () => {
    const task = await client().createAndWait({ type: "noop", title: "client poll" }, { live: false, pollMs: 100 });
    expect(task.status).toBe("completed");
  });

  it("gives up with BatonTimeout on a task that does not end", async () => {
    const c = client();
    const held = await c.POST("/api/tasks", { body: { type: "noop", hold: true } });
    const err = await c.waitForTask(held.id, { timeoutMs: 300, live: false, pollMs: 50 }).catch((e) => e);
    expect(err).toBeInstanceOf(BatonTimeout);
    expect(err).toMatchObject({ taskId: held.id, lastStatus: "backlog" });
  });

  it("walks a list across its cursor pages", async () => {
    const c = client();
    const type = "noop";
    const created = await c.batch({ tasks: Array.from({ length: 7 }, (_, i) => ({ type, title: `page-walk ${i}`, hold: true })) });
    expect(created.created).toBe(7);
    const seen: number[] = [];
    for await (const t of c.iterate("/api/tasks", { params: { query: { search: "page-walk", limit: 2, sort: "id", order: "asc" } } })) seen.push(t.id);
    expect(seen).toEqual([...created.ids].sort((a, b) => a - b));
  });

  it("cancels and retries", async () => {
    const c = client();
    const held = await c.POST("/api/tasks", { body: { type: "noop", hold: true, title: "cancel me" } });
    expect(held.status).toBe("backlog");
    const canceled = await c.POST("/api/tasks/{id}/cancel", { params: { path: { id: held.id } } });
    expect(canceled.status).toBe("canceled");
    const retried = await c.POST("/api/tasks/{id}/retry", { params: { path: { id: held.id } } });
    expect(retried.status).toBe("pending");
    expect((await c.waitForTask(held.id)).status).toBe("completed");
  });

  it("creates a batch without refs; a repeated dedupeKey is counted, not inserted", async () => {
    const r = await client().batch({
      tasks: [
        { type: "noop", dedupeKey: "client-batch-1" },
        { type: "noop", dedupeKey: "client-batch-2" },
        { type: "noop", dedupeKey: "client-batch-1" },
      ],
    });
    expect(r).toMatchObject({ created: 2, duplicates: 1 });
    expect(r.ids).toHaveLength(2);
  });

  it("deletes (a 204 resolves to undefined)", async () => {
    const c = client();
    const t = await c.POST("/api/tasks", { body: { type: "noop", hold: true } });
    expect(await c.DELETE("/api/tasks/{id}", { params: { path: { id: t.id } } })).toBeUndefined();
  });
});

describe("workflows", () => {
  /** The outcome row of a completed task's attempt: started_at from the claim, created_at from the finishing transaction. */
  const outcome = (t: TaskDetail) => {
    const rows = t.logs.filter((l) => l.event === "succeeded");
    expect(rows, `task ${t.id}: one succeeded row`).toHaveLength(1);
    return rows[0];
  };

  it("createWorkflow: a diamond with refs returns the refs map, and its tasks complete in dependency order", async () => {
    const c = client();
    const step = { type: "simulate", payload: { durationMs: 150 } } as const;
    const wf = await c.createWorkflow([
      { ref: "split", title: "wf split", ...step },
      { ref: "part-1", title: "wf part-1", dependsOn: ["split"], ...step },
      { ref: "part-2", title: "wf part-2", dependsOn: ["split"], ...step },
      { ref: "join", title: "wf join", dependsOn: ["part-1", "part-2"], onParentFailure: "cancel", ...step },
    ]);
    expect(wf.created).toBe(4);
    expect(wf.duplicates).toBe(0);
    expect(Object.keys(wf.refs).sort()).toEqual(["join", "part-1", "part-2", "split"]);
    // ids come in the order given; refs name the same tasks
    expect(wf.ids).toEqual([wf.refs.split, wf.refs["part-1"], wf.refs["part-2"], wf.refs.join]);

    const graph = await c.graph(wf.refs["part-1"]);
    expect(graph.truncated).toBe(false);
    expect(graph.nodes.map((n) => n.id).sort((a, b) => a - b)).toEqual([...wf.ids].sort((a, b) => a - b));
    const edge = (from: number, to: number) => ({ from, to });
    expect(graph.edges).toEqual(
      expect.arrayContaining([
        edge(wf.refs.split, wf.refs["part-1"]),
        edge(wf.refs.split, wf.refs["part-2"]),
        edge(wf.refs["part-1"], wf.refs.join),
        edge(wf.refs["part-2"], wf.refs.join),
      ]),
    );
    expect(graph.edges).toHaveLength(4);

    const join = await c.waitForTask(wf.refs.join, { timeoutMs: 120_000 });
    expect(join.status).toBe("completed");
    expect(join.dependsOn).toEqual([wf.refs["part-1"], wf.refs["part-2"]].sort((a, b) => a - b));
    const tasks = Object.fromEntries(await Promise.all(Object.entries(wf.refs).map(async ([ref, id]) => [ref, await c.GET("/api/tasks/{id}", { params: { path: { id } } })] as const)));
    expect(tasks.split.dependents).toEqual([wf.refs["part-1"], wf.refs["part-2"]].sort((a, b) => a - b));
    for (const t of Object.values(tasks)) expect(t.status, t.title).toBe("completed");
    // Every edge in order, read from task_logs: the child's attempt started (the claim's now()) no
    // earlier than the parent's outcome row was written (the finishing transaction's now(), which
    // is also what released the child), and the child's outcome row has the later id.
    for (const [from, to] of [["split", "part-1"], ["split", "part-2"], ["part-1", "join"], ["part-2", "join"]] as const) {
      const parent = outcome(tasks[from]);
      const child = outcome(tasks[to]);
      expect(Date.parse(child.startedAt as string), `${to} started after ${from} finished`).toBeGreaterThanOrEqual(Date.parse(parent.createdAt));
      expect(child.id, `${to}'s outcome row after ${from}'s`).toBeGreaterThan(parent.id);
    }
  });

  it("a bad ref, a cycle or a missing parent is a BatonProblem naming the field, and creates nothing", async () => {
    const c = client();
    const count = async () => (await c.GET("/api/tasks", { params: { query: { search: "wf-bad", limit: 1 } } })).total;

    const unknown = await c
      // @ts-expect-error "extrac" is no ref of this workflow: with literal refs, a typo does not compile
      .createWorkflow([{ ref: "extract", type: "noop", title: "wf-bad a" }, { ref: "load", type: "noop", title: "wf-bad b", dependsOn: ["extrac"] }])
      .catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(BatonProblem);
    expect(unknown).toMatchObject({ status: 400, errors: [{ field: "tasks.1.dependsOn.0", message: expect.stringContaining("unknown ref 'extrac'") }] });

    const cycle = await c
      .createWorkflow([
        { ref: "a", type: "noop", title: "wf-bad a", dependsOn: ["b"] },
        { ref: "b", type: "noop", title: "wf-bad b", dependsOn: ["a"] },
      ])
      .catch((e: unknown) => e);
    expect(cycle).toBeInstanceOf(BatonProblem);
    expect((cycle as BatonProblem).errors).toEqual([expect.objectContaining({ field: expect.stringMatching(/^tasks\.[01]\.dependsOn$/), message: expect.stringContaining("cycle") })]);

    // Refs built at run time type as plain strings; the server still checks them.
    const dynamic: WorkflowTask[] = [{ ref: `r-${Date.now()}`, type: "noop", title: "wf-bad c", dependsOn: [987654321] }];
    const missing = await c.createWorkflow(dynamic).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(BatonProblem);
    expect(missing).toMatchObject({ status: 400, errors: [{ field: "tasks.0.dependsOn.0", message: "task 987654321 does not exist" }] });

    expect(await count()).toBe(0);
  });
});

describe("problems", () => {
  it("throws BatonProblem with the problem+json fields", async () => {
    const c = client();
    const notFound = await c.GET("/api/tasks/{id}", { params: { path: { id: 987654321 } } }).catch((e) => e);
    expect(notFound).toBeInstanceOf(BatonProblem);
    expect(notFound).toMatchObject({ status: 404, title: "Not Found", type: expect.stringContaining("404") });
    expect(notFound.detail).toMatch(/987654321/);
    expect(notFound.requestId).toEqual(expect.any(String));

    const invalid = await c.POST("/api/tasks", { body: { type: "noop", maxAttempts: 0 } }).catch((e) => e);
    expect(invalid).toBeInstanceOf(BatonProblem);
    expect(invalid.status).toBe(400);
    expect(invalid.errors).toEqual([expect.objectContaining({ field: "maxAttempts" })]);

    const done = await c.createAndWait({ type: "noop" });
    const conflict = await c.POST("/api/tasks/{id}/cancel", { params: { path: { id: done.id } } }).catch((e) => e);
    expect(conflict).toMatchObject({ name: "BatonProblem", status: 409 });
  });

  it("sends the API key: without it the same call is a 401 problem", async () => {
    const anonymous = createClient({ baseUrl: ctx.svc.url });
    const err = await anonymous.GET("/api/status").catch((e) => e);
    expect(err).toBeInstanceOf(BatonProblem);
    expect(err.status).toBe(401);
    expect((await client().GET("/api/status")).instance.id).toBe(ctx.svc.config.INSTANCE_ID);
  });
});

describe("live log rows", () => {
  it("follows a task's rows as they are written", async () => {
    const c = client();
    const held = await c.POST("/api/tasks", { body: { type: "noop", hold: true, title: "followed" } });
    const stop = new AbortController();
    const rows: TaskLog[] = [];
    const following = (async () => {
      for await (const row of c.followLogs({ taskId: held.id, signal: stop.signal })) {
        rows.push(row);
        if (row.event === "succeeded") stop.abort();
      }
    })();
    await c.POST("/api/tasks/{id}/cancel", { params: { path: { id: held.id } } });
    await c.POST("/api/tasks/{id}/retry", { params: { path: { id: held.id } } });
    await following;
    // Every row of the task, each once, oldest first: what the server lists, the other way round.
    const stored = await c.GET("/api/tasks/{id}/logs", { params: { path: { id: held.id } } });
    expect(rows.map((r) => r.id)).toEqual(stored.items.map((r) => r.id).reverse());
    expect(rows.map((r) => r.event)).toEqual(expect.arrayContaining(["canceled", "succeeded"]));
  });
});

describe("in a browser", () => {
  it("bundles for the browser platform: nothing of Node on the client's import path", async () => {
    const out = await build({ entryPoints: [path.join(ROOT, "src/client/index.ts")], bundle: true, platform: "browser", format: "esm", write: false, logLevel: "silent" });
    expect(out.errors).toEqual([]);
    expect(out.outputFiles[0].text).toContain("BatonProblem");
  });

  it("the bundle runs a task to completion in a real Chromium", async () => {
    const CHROMIUM = "/usr/bin/chromium";
    expect(existsSync(CHROMIUM), `${CHROMIUM} is needed (apt-get install chromium)`).toBe(true);
    const bundle = await build({
      entryPoints: [path.join(ROOT, "src/client/index.ts")],
      bundle: true,
      platform: "browser",
      format: "iife",
      globalName: "baton",
      write: false,
      logLevel: "silent",
    });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    try {
      const page = await browser.newPage();
      // A page of the instance's own origin, served by the test, so the client's calls are same-origin.
      const origin = ctx.svc.url;
      await page.route(`${origin}/client-test`, (route) =>
        route.fulfill({ contentType: "text/html", body: `<!doctype html><script>${bundle.outputFiles[0].text}</script>` }),
      );
      await page.goto(`${origin}/client-test`);
      const result = await page.evaluate(async (apiKey) => {
        const b = (window as unknown as { baton: typeof import("../src/client/index.js") }).baton;
        const c = b.createClient({ baseUrl: "", apiKey });
        const task = await c.createAndWait({ type: "noop", title: "from the browser" }, { timeoutMs: 30_000 });
        const problem = await c.GET("/api/tasks/{id}", { params: { path: { id: 987654321 } } }).catch((e: unknown) => e);
        const wf = await c.createWorkflow([
          { ref: "first", type: "noop" },
          { ref: "second", type: "noop", dependsOn: ["first"] },
        ]);
        const second = await c.waitForTask(wf.refs.second, { timeoutMs: 30_000 });
        return {
          status: task.status,
          problem: problem instanceof b.BatonProblem ? problem.status : String(problem),
          workflow: { second: second.status, parents: second.dependsOn.length === 1 && second.dependsOn[0] === wf.refs.first },
        };
      }, key);
      expect(result).toEqual({ status: "completed", problem: 404, workflow: { second: "completed", parents: true } });
    } finally {
      await browser.close();
    }
  });
});
