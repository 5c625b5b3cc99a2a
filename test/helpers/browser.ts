/**
 * What the dashboard's browser tests share: Debian's Chromium (a file that needs it is skipped
 * with a message where it is missing, except under CI=true, where that is an error), axe-core's
 * source, the screenshot folder, an API key for the instance under test, and a watcher that
 * collects Content-Security-Policy violations and page errors.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

/** true when Chromium is there; otherwise warns (or, under CI=true, throws) naming `what`. */
export function chromiumFor(what: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI === "true") throw new Error(`${CHROMIUM} is missing and CI=true: install Debian's chromium (apt-get install chromium)`);
  console.warn(`SKIPPING ${what}: ${CHROMIUM} not found (apt-get install chromium). Under CI=true this fails instead.`);
  return false;
}

const ROOT = path.resolve(import.meta.dirname, "..", "..");
export const SHOTS = path.join(ROOT, "test-artifacts", "screenshots");
/** axe-core's source, for page.evaluate (not subject to the page's CSP, as a <script> tag would be). */
export const AXE = readFileSync(path.join(ROOT, "node_modules", "axe-core", "axe.min.js"), "utf8");

/** A fresh API key, its API_KEY_HASHES entry and the header that carries it. */
export function testKey(): { key: string; hash: string; auth: { authorization: string } } {
  const key = randomBytes(24).toString("base64url");
  return { key, hash: createHash("sha256").update(key).digest("hex"), auth: { authorization: `Bearer ${key}` } };
}

/** Collects CSP violations and page errors of every page given to watch(). */
export function pageWatcher(): { watch: (p: Page) => Page; cspViolations: string[]; pageErrors: string[] } {
  const cspViolations: string[] = [];
  const pageErrors: string[] = [];
  const watch = (p: Page): Page => {
    p.on("console", (m) => {
      if (/Content Security Policy|Refused to (execute|load|apply|connect)/i.test(m.text())) cspViolations.push(`${p.url()}: ${m.text()}`);
    });
    p.on("pageerror", (e) => pageErrors.push(`${p.url()}: ${e.message}`));
    return p;
  };
  return { watch, cspViolations, pageErrors };
}
