#!/usr/bin/env node
/**
 * `npm start`: compile only when the build is missing or older than its sources, then run it.
 *
 * A build is recorded by dist/.build-stamp, written after a successful `npm run build`. The build
 * is stale when any file under src/, or tsconfig*.json or package.json, is newer than the stamp.
 * Compiling takes a few seconds; skipping it is what lets a second `npm start` answer /health in
 * about as long as the embedded Postgres takes to come up.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const stamp = path.join(root, "dist", ".build-stamp");
const entry = path.join(root, "dist", "src", "main.js");

/** The newest modification time under `p` (a file or a directory), in ms. */
function newest(p) {
  if (!existsSync(p)) return 0;
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs;
  for (const name of readdirSync(p)) max = Math.max(max, newest(path.join(p, name)));
  return max;
}

function stale() {
  if (!existsSync(stamp) || !existsSync(entry)) return "no build yet";
  const built = statSync(stamp).mtimeMs;
  const sources = [path.join(root, "src"), path.join(root, "package.json"), path.join(root, "tsconfig.json"), path.join(root, "tsconfig.build.json")];
  return sources.some((s) => newest(s) > built) ? "sources changed since the last build" : null;
}

const why = stale();
if (why) {
  process.stderr.write(`baton: building (${why})\n`);
  const r = spawnSync(process.platform === "win32" ? "npm.cmd" : "npm", ["run", "build", "--silent"], { cwd: root, stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
await import(pathToFileURL(entry).href);
