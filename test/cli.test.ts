/**
 * The `baton` CLI as real processes against a real instance that requires an API key: each
 * command's happy path, --json parsed, a bad id exiting 1 with the problem's detail, usage errors
 * exiting 2, the queues commands (a partial `queues set` keeping the other settings, a bad value
 * exiting 1 with the server's detail naming the field), `enqueue --depends-on` (a child that waits
 * for its parent and completes after it, --on-parent-failure, an unknown parent exiting 1 naming
 * dependsOn, a malformed list exiting 2), `tasks show` with parents, dependents and progress,
 * `logs tail` printing a task's rows as they happen, and the bin (bin/baton.mjs, the compiled CLI)
 * answering `status`.
 *
 * Most runs use the CLI's source under tsx (`node --import tsx src/cli/main.ts`), the same code
 * the bin runs compiled, so the file does not depend on a build of the whole tree.
 */
import { execFile, spawn } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { generateKey } from "../src/api/security/keys.js";
import { api, serviceForFile, waitFor } from "./helpers/service.js";

const ROOT = path.resolve(import.meta.dirname, "..");
const { key, hash } = generateKey();
const ctx = serviceForFile({ API_KEY_HASHES: hash });
const AUTH = () => ({ authorization: `Bearer ${key}` });
const exec = promisify(execFile);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function env(extra: Record<string, string> = {}) {
  return { PATH: process.env.PATH, HOME: process.env.HOME, BATON_URL: ctx.svc.url, BATON_API_KEY: key, ...extra };
}

/** Runs `baton ARGS` to its end. */
async function baton(args: string[], opts: { env?: Record<string, string>; bin?: boolean } = {}): Promise<Run> {
  const argv = opts.bin ? [path.join(ROOT, "bin", "baton.mjs"), ...args] : ["--import", "tsx", path.join(ROOT, "src", "cli", "main.ts"), ...args];
  try {
    const r = await exec(process.execPath, argv, { cwd: ROOT, env: env(opts.env), timeout: 240_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

const json = (r: Run) => {
  expect(r.stderr, "stderr").toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
};

describe("task commands", () => {
  it("enqueue, tasks list, tasks show, cancel, retry (tables and --json)", async () => {
    const created = json(await baton(["enqueue", "noop", "--title", "from the cli", "--priority", "7", "--payload", "{}", "--hold", "--json"]));
    expect(created).toMatchObject({ type: "noop", title: "from the cli", priority: 7, status: "backlog" });

    const table = await baton(["tasks", "list", "--status", "backlog"]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^ID\s+STATUS\s+TYPE/);
    expect(table.stdout).toMatch(new RegExp(`^${created.id}\\s+backlog\\s+noop\\s+7\\s.*from the cli`, "m"));

    const listed = json(await baton(["tasks", "list", "--status", "backlog", "--json"]));
    expect(listed.items.map((t: { id: number }) => t.id)).toContain(created.id);

    const canceled = json(await baton(["cancel", String(created.id), "--json"]));
    expect(canceled.status).toBe("canceled");
    const retried = await baton(["retry", String(created.id)]);
    expect(retried).toMatchObject({ code: 0, stdout: `task ${created.id} retried: pending\n` });

    await waitFor(async () => (await api(ctx.svc.url, "GET", `/api/tasks/${created.id}`, undefined, AUTH())).body.status === "completed");
    const shown = json(await baton(["tasks", "show", String(created.id), "--json"]));
    expect(shown).toMatchObject({ id: created.id, status: "completed" });
    expect(shown.logs.map((l: { event: string }) => l.event)).toContain("succeeded");
    const text = await baton(["tasks", "show", String(created.id)]);
    expect(text.stdout).toMatch(/^status\s+completed$/m);
    expect(text.stdout).toMatch(/succeeded/);
  });

  it("enqueue --wait exits 0 once the task completed", async () => {
    const r = await baton(["enqueue", "simulate", "--payload", '{"durationMs":100}', "--wait"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^task \d+ completed$/m);
  });
});

describe("enqueue --depends-on", () => {
  const get = async (id: number) => (await api(ctx.svc.url, "GET", `/api/tasks/${id}`, undefined, AUTH())).body;
  const total = async () => (await api(ctx.svc.url, "GET", "/api/tasks?limit=1", undefined, AUTH())).body.total as number;
  const outcome = (t: { logs: { event: string; id: number; startedAt: string; createdAt: string }[] }) => {
    const row = t.logs.find((l) => l.event === "succeeded");
    expect(row, "the succeeded row").toBeDefined();
    return row as NonNullable<typeof row>;
  };

  it("creates a waiting child that becomes pending only when its parent completed, and completes after it", async () => {
    // The parent sits in a paused queue, so it cannot finish before the child exists.
    expect((await api(ctx.svc.url, "POST", "/api/queues/cli-gate/pause", undefined, AUTH())).status).toBe(200);
    const parent = await api(ctx.svc.url, "POST", "/api/tasks", { type: "simulate", queue: "cli-gate", payload: { durationMs: 300 }, title: "cli parent" }, AUTH());
    expect(parent.body.status).toBe("waiting");
    const p = parent.body.id as number;

    const child = json(await baton(["enqueue", "noop", "--title", "cli child", "--depends-on", String(p), "--json"]));
    expect(child).toMatchObject({ status: "waiting", onParentFailure: "cancel" });
    expect(await get(child.id)).toMatchObject({ status: "waiting", dependsOn: [p], dependents: [] });
    expect(await get(p)).toMatchObject({ dependsOn: [], dependents: [child.id] });
    // A waiting task has no graphile-worker job: nothing can start it before its parent completed.
    const jobs = await ctx.tdb.database.sql`select count(*)::int as n from graphile_worker.jobs where key = ${`baton:${child.id}`}`;
    expect(jobs[0].n).toBe(0);

    const shown = await baton(["tasks", "show", String(child.id)]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(new RegExp(`^dependsOn\\s+${p}$`, "m"));
    expect(shown.stdout).toMatch(/^onParentFailure\s+cancel$/m);
    expect(shown.stdout).not.toMatch(/^dependents\s/m);
    expect(shown.stdout).not.toMatch(/^progress\s/m);

    expect((await api(ctx.svc.url, "POST", "/api/queues/cli-gate/resume", undefined, AUTH())).status).toBe(200);
    await waitFor(async () => (await get(child.id)).status === "completed", { what: "the child to complete" });
    const [pt, ct] = [await get(p), await get(child.id)];
    expect(pt.status).toBe("completed");
    // Order from the database: the child's attempt started (claim's now()) no earlier than the
    // parent's outcome was written (the finishing transaction's now()), and its outcome row came later.
    expect(Date.parse(outcome(ct).startedAt)).toBeGreaterThanOrEqual(Date.parse(outcome(pt).createdAt));
    expect(Date.parse(ct.startedAt)).toBeGreaterThanOrEqual(Date.parse(pt.finishedAt));
    expect(outcome(ct).id).toBeGreaterThan(outcome(pt).id);

    // The parent's detail: its dependent and the last progress simulate reported.
    const parentText = await baton(["tasks", "show", String(p)]);
    expect(parentText.stdout).toMatch(new RegExp(`^dependents\\s+${child.id}$`, "m"));
    expect(parentText.stdout).toMatch(/^progress\s+100% done waiting \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\)$/m);
    expect(parentText.stdout).not.toMatch(/^dependsOn\s/m);
    expect(json(await baton(["tasks", "show", String(p), "--json"]))).toMatchObject({ progress: { percent: 100, message: "done waiting" }, dependents: [child.id] });
  });

  it("--on-parent-failure continue releases the child when its parent is canceled; the default cancels it", async () => {
    const parent = await api(ctx.svc.url, "POST", "/api/tasks", { type: "noop", hold: true, title: "cli parent to cancel" }, AUTH());
    const p = parent.body.id as number;
    const goOn = json(await baton(["enqueue", "noop", "--depends-on", String(p), "--on-parent-failure", "continue", "--json"]));
    const stop = json(await baton(["enqueue", "noop", "--depends-on", ` ${p} `, "--json"]));
    expect(goOn).toMatchObject({ status: "waiting", onParentFailure: "continue" });
    expect(stop).toMatchObject({ status: "waiting", onParentFailure: "cancel" });
    expect(json(await baton(["cancel", String(p), "--json"])).status).toBe("canceled");
    await waitFor(async () => (await get(goOn.id)).status === "completed", { what: "the continue child to complete" });
    expect(await get(stop.id)).toMatchObject({ status: "canceled", canceledBy: p });
    const shown = await baton(["tasks", "show", String(stop.id)]);
    expect(shown.stdout).toMatch(new RegExp(`^canceledBy\\s+${p}$`, "m"));
  });

  it("a parent that does not exist exits 1 with the problem's detail naming dependsOn, and creates nothing", async () => {
    const before = await total();
    const r = await baton(["enqueue", "noop", "--depends-on", "987654321"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^baton: .*dependsOn\.0: task 987654321 does not exist.*\(400 /);
    const second = await baton(["enqueue", "noop", "--depends-on", `${(await api(ctx.svc.url, "POST", "/api/tasks", { type: "noop" }, AUTH())).body.id},987654322`]);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain("dependsOn.1: task 987654322 does not exist");
    expect(await total()).toBe(before + 1); // the parent made for the second run, nothing else
  });

  it("a malformed --depends-on or --on-parent-failure exits 2 before any request", async () => {
    const before = await total();
    for (const v of ["abc", "1,,2", "", "1.5", "-1", "41;42", "41,", "99999999999999999999"]) {
      const r = await baton(["enqueue", "noop", `--depends-on=${v}`]);
      expect(r.code, v).toBe(2);
      expect(r.stderr, v).toContain("--depends-on must be task ids separated by commas");
      expect(r.stdout, v).toBe("");
    }
    expect((await baton(["enqueue", "noop", "--depends-on"])).code).toBe(2);
    const policy = await baton(["enqueue", "noop", "--depends-on", "1", "--on-parent-failure", "ignore"]);
    expect(policy.code).toBe(2);
    expect(policy.stderr).toContain("--on-parent-failure must be cancel or continue");
    expect(await total()).toBe(before);
  });
});

describe("schedules and status", () => {
  it("schedules list, pause, resume, trigger", async () => {
    const s = await api(
      ctx.svc.url,
      "POST",
      "/api/schedules",
      { name: "cli-hourly", type: "noop", trigger: { kind: "interval", seconds: 3600 } },
      AUTH(),
    );
    expect(s.status).toBe(201);
    const id = String(s.body.id);
    const list = await baton(["schedules", "list"]);
    expect(list.stdout).toMatch(new RegExp(`^${id}\\s+cli-hourly\\s+active\\s+noop\\s+every 3600s`, "m"));
    expect(json(await baton(["schedules", "pause", id, "--json"])).status).toBe("paused");
    expect(json(await baton(["schedules", "resume", id, "--json"])).status).toBe("active");
    const task = json(await baton(["schedules", "trigger", id, "--json"]));
    expect(task).toMatchObject({ scheduleId: s.body.id, type: "noop" });
    expect(json(await baton(["schedules", "list", "--json"])).items.map((x: { name: string }) => x.name)).toContain("cli-hourly");
  });

  it("status as a table and as JSON", async () => {
    const st = json(await baton(["status", "--json"]));
    expect(st.instance.id).toBe(ctx.svc.config.INSTANCE_ID);
    const text = await baton(["status"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`instance ${ctx.svc.config.INSTANCE_ID}`);
    expect(text.stdout).toMatch(/^INSTANCE\s+HOST\s+PORT/m);
  });

  it("keygen prints a key whose hash is the one printed", async () => {
    const k = json(await baton(["keygen", "--json"]));
    const { hashKey } = await import("../src/api/security/keys.js");
    expect(hashKey(k.key)).toBe(k.hash);
  });
});

describe("queues", () => {
  const getQueue = async (name: string) => (await api(ctx.svc.url, "GET", `/api/queues/${name}`, undefined, AUTH())).body;

  it("queues set and list (table and --json); a concurrency-only set keeps the rate limit", async () => {
    const set = json(await baton(["queues", "set", "cli-partner", "--concurrency", "2", "--rate-limit", "10/1", "--json"]));
    expect(set).toMatchObject({ name: "cli-partner", concurrency: 2, rateLimit: { limit: 10, perSeconds: 1 }, paused: false, configured: true });

    const again = await baton(["queues", "set", "cli-partner", "--concurrency", "3"]);
    expect(again).toMatchObject({ code: 0, stdout: "queue cli-partner: concurrency 3, rate limit 10/1s, not paused\n" });
    expect(await getQueue("cli-partner")).toMatchObject({ concurrency: 3, rateLimit: { limit: 10, perSeconds: 1 }, paused: false });

    const listed = json(await baton(["queues", "list", "--json"]));
    expect(listed.items.find((q: { name: string }) => q.name === "cli-partner")).toMatchObject({ concurrency: 3, rateLimit: { limit: 10, perSeconds: 1 }, waiting: 0 });
    const table = await baton(["queues", "list"]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^NAME\s+CONCURRENCY\s+RATE LIMIT\s+PAUSED/);
    expect(table.stdout).toMatch(/^cli-partner\s+3\s+10\/1s\s+no\s+0\s+0\s+0\s+0$/m);

    const cleared = json(await baton(["queues", "set", "cli-partner", "--rate-limit", "none", "--json"]));
    expect(cleared).toMatchObject({ concurrency: 3, rateLimit: null, paused: false });
    expect(await getQueue("cli-partner")).toMatchObject({ concurrency: 3, rateLimit: null });
  });

  it("queues pause and resume (and set --paused) as GET shows them; the limits stay", async () => {
    json(await baton(["queues", "set", "cli-exports", "--concurrency", "4", "--rate-limit", "5/60", "--json"]));
    const paused = await baton(["queues", "pause", "cli-exports"]);
    expect(paused).toMatchObject({ code: 0, stdout: "queue cli-exports: concurrency 4, rate limit 5/60s, paused\n" });
    expect(await getQueue("cli-exports")).toMatchObject({ paused: true, concurrency: 4, rateLimit: { limit: 5, perSeconds: 60 } });
    expect(json(await baton(["queues", "resume", "cli-exports", "--json"]))).toMatchObject({ name: "cli-exports", paused: false });
    expect(await getQueue("cli-exports")).toMatchObject({ paused: false, concurrency: 4 });
    expect(json(await baton(["queues", "set", "cli-exports", "--paused", "true", "--json"]))).toMatchObject({ paused: true, concurrency: 4 });
    expect(await getQueue("cli-exports")).toMatchObject({ paused: true, concurrency: 4, rateLimit: { limit: 5, perSeconds: 60 } });
  });

  it("a value the server refuses exits 1 naming the field and stores nothing; a malformed one or an unknown flag exits 2", async () => {
    json(await baton(["queues", "set", "cli-strict", "--concurrency", "2", "--json"]));
    const zero = await baton(["queues", "set", "cli-strict", "--concurrency", "0"]);
    expect(zero.code).toBe(1);
    expect(zero.stdout).toBe("");
    expect(zero.stderr).toMatch(/^baton: concurrency: .*\(400 /);
    const rate = await baton(["queues", "set", "cli-strict", "--rate-limit", "0/1"]);
    expect(rate.code).toBe(1);
    expect(rate.stderr).toContain("rateLimit.limit");
    expect(await getQueue("cli-strict")).toMatchObject({ concurrency: 2, rateLimit: null });

    const flag = await baton(["queues", "set", "cli-strict", "--bogus", "1"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("--bogus");
    expect((await baton(["queues", "list", "--all"])).code).toBe(2);
    expect((await baton(["queues", "set", "cli-strict", "--rate-limit", "fast"])).code).toBe(2);
    expect((await baton(["queues", "set", "cli-strict", "--paused", "maybe"])).code).toBe(2);
    expect((await baton(["queues", "set", "cli-strict"])).code).toBe(2);
    expect((await baton(["queues", "pause"])).code).toBe(2);
  });
});

describe("errors and usage", () => {
  it("a bad id exits 1 with the problem's detail on stderr", async () => {
    const missing = await baton(["tasks", "show", "987654321"]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe("");
    expect(missing.stderr).toContain("task 987654321 not found");
    const malformed = await baton(["cancel", "abc"]);
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toContain("must be a positive integer");
  });

  it("a wrong key exits 1 with the 401's detail", async () => {
    const r = await baton(["status"], { env: { BATON_API_KEY: "wrong" } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/401/);
  });

  it("an unknown flag, an unknown command or a missing argument exits 2", async () => {
    const flag = await baton(["tasks", "list", "--bogus"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("--bogus");
    expect((await baton(["frobnicate"])).code).toBe(2);
    expect((await baton(["cancel"])).code).toBe(2);
    expect((await baton(["enqueue", "noop", "--priority", "high"])).code).toBe(2);
  });

  it("--help on every command exits 0 with its usage", async () => {
    const names = ["start", "migrate", "keygen", "enqueue", "tasks list", "tasks show", "cancel", "retry", "logs tail", "schedules list", "schedules pause", "schedules resume", "schedules trigger", "queues list", "queues set", "queues pause", "queues resume", "status"];
    const overview = await baton(["--help"]);
    expect(overview.code).toBe(0);
    for (const n of names) expect(overview.stdout).toContain(`baton ${n}`);
    const helps = await Promise.all(names.map((n) => baton([...n.split(" "), "--help"])));
    helps.forEach((h, i) => {
      expect(h.code, names[i]).toBe(0);
      expect(h.stdout, names[i]).toContain(`Usage: baton ${names[i]}`);
    });
    const set = helps[names.indexOf("queues set")].stdout;
    expect(set).toContain("--rate-limit L/S");
    expect(set).toContain("--rate-limit none");
    expect(set).toMatch(/--concurrency 3` keeps q's rate limit/);
    const enqueue = helps[names.indexOf("enqueue")].stdout;
    expect(enqueue).toContain("--depends-on IDS");
    expect(enqueue).toContain("--on-parent-failure cancel|continue");
  });
});

describe("logs tail", () => {
  it("prints a task's rows as they happen, and ends on Ctrl-C with 0", async () => {
    const held = await api(ctx.svc.url, "POST", "/api/tasks", { type: "noop", hold: true, title: "tailed" }, AUTH());
    const id = held.body.id as number;
    const proc = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "logs", "tail", "--task", String(id), "--json"], { cwd: ROOT, env: env() });
    let out = "";
    proc.stdout.on("data", (d) => {
      out += d;
    });
    const exited = new Promise<number | null>((r) => proc.on("exit", (code) => r(code)));
    const rows = () =>
      out
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { taskId: number; event: string });
    await api(ctx.svc.url, "POST", `/api/tasks/${id}/cancel`, undefined, AUTH());
    await waitFor(() => rows().some((r) => r.event === "canceled"), { what: "the canceled row" });
    // The succeeded row is written only now, after the tail printed the canceled one: it can
    // only come from following, not from the rows the tail read when it started.
    await api(ctx.svc.url, "POST", `/api/tasks/${id}/retry`, undefined, AUTH());
    await waitFor(() => rows().some((r) => r.event === "succeeded"), { what: "the succeeded row" });
    expect(rows().every((r) => r.taskId === id)).toBe(true);
    proc.kill("SIGINT");
    expect(await exited).toBe(0);
  });
});

describe("the bin", () => {
  it("bin/baton.mjs runs the compiled CLI (building it when stale): status --json", { timeout: 300_000 }, async () => {
    const st = json(await baton(["status", "--json"], { bin: true }).then((r) => ({ ...r, stderr: r.stderr.replace(/^baton: building .*\n/, "") })));
    expect(st.instance.id).toBe(ctx.svc.config.INSTANCE_ID);
  });
});
