/**
 * The live /openapi.json passes Redocly's linter (`redocly lint`, the recommended rules of
 * redocly.yaml) with no error and no warning, as a new user trying the document with real tools
 * would run it. @redocly/cli is a devDependency, so this runs offline.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { serviceForFile } from "./helpers/service.js";

const ROOT = path.resolve(import.meta.dirname, "..");
const REDOCLY = path.join(ROOT, "node_modules", "@redocly", "cli", "bin", "cli.js");
const run = promisify(execFile);

const ctx = serviceForFile();
const dir = mkdtempSync(path.join(tmpdir(), "baton-openapi-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface LintReport {
  totals: { errors: number; warnings: number; ignored: number };
  problems: { ruleId: string; severity: string; message: string; location: { pointer?: string }[] }[];
}

/** Lints a document with the repository's redocly.yaml; resolves to Redocly's JSON report. */
async function lint(doc: unknown): Promise<LintReport> {
  const file = path.join(dir, `openapi-${Date.now()}.json`);
  writeFileSync(file, JSON.stringify(doc));
  // lint exits 1 when it finds an error; the report on stdout is what is asserted either way.
  const out = await run(process.execPath, [REDOCLY, "lint", file, "--config", path.join(ROOT, "redocly.yaml"), "--format", "json"], {
    cwd: ROOT,
    env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
  }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? "" }));
  return JSON.parse(out.stdout) as LintReport;
}

const summary = (r: LintReport) => r.problems.map((p) => `${p.severity} ${p.ruleId} ${p.location[0]?.pointer ?? ""}: ${p.message}`);

describe("GET /openapi.json under redocly lint (recommended rules)", () => {
  it("reports 0 errors and 0 warnings", async () => {
    const res = await fetch(`${ctx.svc.url}/openapi.json`);
    expect(res.status).toBe(200);
    const report = await lint(await res.json());
    expect(summary(report)).toEqual([]);
    expect(report.totals).toEqual({ errors: 0, warnings: 0, ignored: 0 });
  });

  it("gives every operation a unique operationId (the method names of a generated client)", async () => {
    const doc = (await (await fetch(`${ctx.svc.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, { operationId?: string }>> };
    const ops = Object.values(doc.paths).flatMap((p) => Object.values(p));
    const ids = ops.map((o) => o.operationId);
    expect(ids.every((id) => typeof id === "string" && /^[a-z][A-Za-z]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ops.length);
  });

  it("is not a linter that passes anything: the document without servers and license fails", async () => {
    const doc = (await (await fetch(`${ctx.svc.url}/openapi.json`)).json()) as { servers?: unknown; info: { license?: unknown } };
    delete doc.servers;
    delete doc.info.license;
    const report = await lint(doc);
    expect(report.totals.errors).toBeGreaterThan(0);
    expect(report.problems.map((p) => p.ruleId)).toEqual(expect.arrayContaining(["no-empty-servers", "info-license"]));
  });
});
