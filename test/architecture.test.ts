/**
 * The shape of the source tree, read from its import statements (no bundler, no madge): no
 * import cycle between modules, none between src/api and src/scheduler as folders, and plug-ins
 * reach a service only through the list in src/plugins.ts.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const SRC = path.resolve(import.meta.dirname, "../src");

/** Every .ts / .tsx file under src, relative to src. */
function sourceFiles(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return /\.tsx?$/.test(e.name) && !e.name.endsWith(".d.ts") ? [path.relative(SRC, full)] : [];
  });
}

// import x from "…", import type {…} from "…", import "…", export … from "…", import("…")
const IMPORT = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

/** The files under src that `file` imports (type-only imports included: they shape the design too). */
function importsOf(file: string, files: Set<string>): string[] {
  const text = readFileSync(path.join(SRC, file), "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2];
    if (!spec.startsWith(".")) continue;
    const base = path.normalize(path.join(path.dirname(file), spec)).replace(/\.js$/, "");
    const target = [`${base}.ts`, `${base}.tsx`, path.join(base, "index.ts")].find((f) => files.has(f));
    if (target) out.push(target);
  }
  return out;
}

function importGraph(): Map<string, string[]> {
  const files = new Set(sourceFiles());
  return new Map([...files].map((f) => [f, importsOf(f, files)]));
}

/** Strongly connected components with more than one member, or a module importing itself (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) ?? 0, idx.get(w) ?? 0));
      }
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string | undefined;
      do {
        w = stack.pop();
        if (w === undefined) break;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

const folder = (file: string) => file.split(path.sep)[0];

describe("module structure", () => {
  const graph = importGraph();

  it("reads the import graph (the regex finds imports at all)", () => {
    expect(graph.get("main.ts")).toEqual(expect.arrayContaining(["service.ts", "plugins.ts", "config.ts"]));
    expect(graph.get(path.join("api", "app.ts"))).toContain(path.join("api", "deps.ts"));
  });

  it("has no import cycle between modules", () => {
    expect(cycles(graph)).toEqual([]);
  });

  it("has no import cycle between src/api and src/scheduler", () => {
    const edges = new Set<string>();
    for (const [from, tos] of graph) for (const to of tos) edges.add(`${folder(from)}→${folder(to)}`);
    expect(edges.has("api→scheduler") && edges.has("scheduler→api"), [...edges].filter((e) => /api|scheduler/.test(e)).join(", ")).toBe(false);
  });

  it("wires plug-ins only through src/plugins.ts, which only main.ts imports", () => {
    const pluginModules = new Set(graph.get("plugins.ts")?.filter((f) => f !== "service.ts"));
    expect(pluginModules.size).toBeGreaterThanOrEqual(5);
    for (const [from, tos] of graph) {
      for (const to of tos) {
        if (pluginModules.has(to)) expect(from, `${from} imports the plug-in ${to}`).toBe("plugins.ts");
        if (to === "plugins.ts") expect(from).toBe("main.ts");
      }
    }
  });
});
