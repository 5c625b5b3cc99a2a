/**
 * The dashboard's two static files, read once at start and served from the same origin under
 * /assets/ with a content hash in the URL (so they can be cached for a long time and a new build
 * is picked up at once). They live in src/dashboard/static/; `npm run build` copies them next to
 * the compiled modules (dist/src/dashboard/static/, which the Docker image carries), and a dist/
 * tree without them falls back to the source folder.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const candidates = [path.join(here, "static"), path.resolve(here, "../../../src/dashboard/static")];
export const STATIC_DIR = candidates.find((d) => existsSync(path.join(d, "baton.js"))) ?? candidates[0];

export interface Asset {
  path: string;
  url: string;
  body: string;
  type: string;
}

function load(file: string, type: string): Asset {
  const body = readFileSync(path.join(STATIC_DIR, file), "utf8");
  const hash = createHash("sha256").update(body).digest("hex").slice(0, 10);
  return { path: `/assets/${file}`, url: `/assets/${file}?v=${hash}`, body, type };
}

let cached: { css: Asset; js: Asset } | null = null;

export function assets(): { css: Asset; js: Asset } {
  cached ??= {
    css: load("baton.css", "text/css; charset=utf-8"),
    js: load("baton.js", "text/javascript; charset=utf-8"),
  };
  return cached;
}
