/**
 * The OpenAPI document: /openapi.json (generated from the route schemas) and /docs, the same
 * document rendered as a self-contained HTML reference (no CDN, no script), so it works offline
 * and behind a strict CSP. test/openapi.lint.test.ts runs Redocly's recommended rules on it.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import { html, raw } from "hono/html";
import type { AppEnv } from "../deps.js";

/**
 * The document's top level. The server URL is relative ("/"): the API lives where the document is
 * served (OpenAPI 3.1 reads a relative server URL against the document's own location), whichever
 * instance or load balancer that is.
 */
export function openApiConfig(version: string) {
  return {
    openapi: "3.1.0",
    info: {
      title: "baton",
      version,
      description: "Postgres-native job coordinator. Errors are application/problem+json (RFC 9457).",
      license: { name: "MIT", identifier: "MIT" },
    },
    servers: [{ url: "/", description: "The instance serving this document" }],
    security: [{ bearer: [] as string[] }, { apiKey: [] as string[] }] as Record<string, string[]>[],
  };
}

/** Registers the security schemes and serves /openapi.json and /docs on `app`. */
export function mountDocs(app: OpenAPIHono<AppEnv>, version: string): void {
  const config = openApiConfig(version);
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });
  app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", { type: "apiKey", in: "header", name: "X-API-Key" });
  app.doc31("/openapi.json", config);
  app.get("/docs", (c) => c.html(renderDocs(app.getOpenAPI31Document(config) as never)));
}

interface Doc {
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, { summary?: string; tags?: string[]; requestBody?: unknown; parameters?: unknown[]; responses?: Record<string, { description?: string }> }>>;
  components?: { schemas?: Record<string, unknown> };
}

export function renderDocs(doc: Doc) {
  const ops: { method: string; path: string; op: Doc["paths"][string][string] }[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) ops.push({ method, path, op });
  }
  const byTag = new Map<string, typeof ops>();
  for (const o of ops) {
    const tag = o.op.tags?.[0] ?? "other";
    byTag.set(tag, [...(byTag.get(tag) ?? []), o]);
  }
  const schemas = doc.components?.schemas ?? {};
  return html`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${doc.info.title} API reference</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:1100px;margin:2rem auto;padding:0 1rem;color:#1b1f24}
h2{border-bottom:1px solid #ccc;padding-bottom:.2rem;margin-top:2rem}
.op{border:1px solid #ddd;border-radius:6px;margin:.6rem 0}
.op summary{padding:.5rem .8rem;cursor:pointer}
.m{display:inline-block;min-width:4.5rem;font-weight:700;text-transform:uppercase}
.get{color:#0b6e4f}.post{color:#1f4fbf}.patch{color:#8a5a00}.delete{color:#b3261e}.put{color:#6b3fa0}
pre{background:#f6f8fa;padding:.6rem;overflow:auto;font-size:13px;margin:.4rem .8rem}
code{font-size:13px}
</style></head>
<body>
<main>
<h1>${doc.info.title} <small>${doc.info.version}</small></h1>
<p>Generated from the same zod schemas that validate requests. Machine-readable: <a href="/openapi.json">/openapi.json</a>.</p>
${raw(
  [...byTag]
    .map(
      ([tag, list]) =>
        `<h2>${esc(tag)}</h2>${list
          .map(
            (o) =>
              `<details class="op"><summary><span class="m ${esc(o.method)}">${esc(o.method)}</span> <code>${esc(o.path)}</code> — ${esc(o.op.summary ?? "")}</summary>${
                o.op.parameters?.length ? `<pre>parameters: ${esc(JSON.stringify(o.op.parameters, null, 2))}</pre>` : ""
              }${o.op.requestBody ? `<pre>body: ${esc(JSON.stringify(o.op.requestBody, null, 2))}</pre>` : ""}<pre>responses: ${esc(
                JSON.stringify(Object.fromEntries(Object.entries(o.op.responses ?? {}).map(([k, v]) => [k, v.description ?? ""])), null, 2),
              )}</pre></details>`,
          )
          .join("")}`,
    )
    .join(""),
)}
<h2>Schemas</h2>
${raw(Object.entries(schemas).map(([name, s]) => `<details class="op"><summary><code>${esc(name)}</code></summary><pre>${esc(JSON.stringify(s, null, 2))}</pre></details>`).join(""))}
</main>
</body></html>`;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}
