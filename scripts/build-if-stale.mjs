/**
 * Compiles baton (npm run build) only when the build is missing or older than its sources; used
 * by `npm start` (scripts/start.mjs) and the `baton` command (bin/baton.mjs).
 *
 * A build is recorded by dist/.build-stamp, written after a successful `npm run build`. The build
 * is stale when any file under src/, or tsconfig*.json or package.json, is newer than the stamp.
 * Compiling takes a few seconds; skipping it is what lets a second `npm start` answer /health in
 * about as long as the embedded Postgres takes to come up, and `baton status` answer at once.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const stamp = path.join(root, "dist", ".build-stamp");

/** The newest modification time under `p` (a file or a directory), in ms. */
function newest(p) {
  if (!existsSync(p)) return 0;
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs;
  for (const name of readdirSync(p)) max = Math.max(max, newest(path.join(p, name)));
  return max;
}

function stale(entry) {
  if (!existsSync(stamp) || !existsSync(entry)) return "no build yet";
  const built = statSync(stamp).mtimeMs;
  const sources = [path.join(root, "src"), path.join(root, "package.json"), path.join(root, "tsconfig.json"), path.join(root, "tsconfig.build.json")];
  return sources.some((s) => newest(s) > built) ? "sources changed since the last build" : null;
}

/** Builds when `entry` (a file under dist/) is missing or stale; exits the process if the build fails. */
export function ensureBuild(entry) {
  const why = stale(entry);
  if (!why) return;
  process.stderr.write(`baton: building (${why})\n`);
  const r = spawnSync(process.platform === "win32" ? "npm.cmd" : "npm", ["run", "build", "--silent"], { cwd: root, stdio: ["ignore", 2, 2] });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
