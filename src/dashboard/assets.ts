/**
 * The dashboard's static files: one stylesheet and the page script as ES modules (baton.js
 * imports the others by relative URL; no bundler). They are read once and served from the same
 * origin under /assets/<version>/, where <version> is a hash of every file: all of them can be
 * cached for a year (a module's imports resolve inside the same versioned folder, so a page never
 * mixes old and new modules), and a new build is picked up at once. /assets/<file> without a
 * version still answers, revalidated on every use.
 *
 * They live in src/dashboard/static/; `npm run build` copies them next to the compiled modules
 * (dist/src/dashboard/static/, which the Docker image carries), and a dist/ tree without them
 * falls back to the source folder.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const candidates = [path.join(here, "static"), path.resolve(here, "../../../src/dashboard/static")];
export const STATIC_DIR = candidates.find((d) => existsSync(path.join(d, "baton.js"))) ?? candidates[0];

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

export interface Asset {
  /** The file name under /assets/ (no folders: the static folder is flat). */
  name: string;
  body: string;
  type: string;
}

export interface StaticAssets {
  /** Hash of every file: the versioned folder the pages link to. */
  version: string;
  /** Only these names are ever served: a request cannot name any other file. */
  files: ReadonlyMap<string, Asset>;
  /** The versioned URL of a file, for the pages' <link> and <script>. */
  url(name: string): string;
}

/** Reads every script and stylesheet of the static folder and versions them together. */
export function loadAssets(dir: string = STATIC_DIR): StaticAssets {
  const files = new Map<string, Asset>();
  const hash = createHash("sha256");
  for (const name of readdirSync(dir).sort()) {
    const type = TYPES[path.extname(name)];
    if (!type) continue;
    const body = readFileSync(path.join(dir, name), "utf8");
    hash.update(name).update("\0").update(body).update("\0");
    files.set(name, { name, body, type });
  }
  const version = hash.digest("hex").slice(0, 12);
  return { version, files, url: (name) => `/assets/${version}/${name}` };
}
