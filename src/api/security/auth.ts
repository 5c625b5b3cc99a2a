/**
 * Access control. With API_KEY_HASHES set, every request needs a key except:
 * - OPEN_PATHS (/health, /ready, the login page);
 * - with PUBLIC_DASHBOARD=true, GET/HEAD of PUBLIC_DASHBOARD_PATHS (the read-only overview and its
 *   SSE stream) and of anything under PUBLIC_ASSET_PREFIX (static files, no data).
 * Everything else (/api/*, /metrics, /openapi.json, /docs, every dashboard page, unknown paths)
 * answers 401 problem+json without a valid key. An HTML page navigation (GET, Accept: text/html,
 * outside /api) is redirected to /login instead, since a browser cannot add a header to it.
 *
 * A key is read from, in this order: `Authorization: Bearer <key>`, `X-API-Key: <key>`, the
 * `baton_key` cookie set by POST /login. The first one present is the one checked.
 *
 * The cookie holds the key itself (HttpOnly, SameSite=Strict, Path=/, Max-Age 12 h, Secure when
 * the request came over https or X-Forwarded-Proto says so). It is re-verified against the
 * configured hashes on every request, so removing a hash revokes every browser that used it, and
 * the server still stores no key. A signed session token was rejected: the only secret shared by
 * all instances is the hash list, and a token signed with it would turn the (non-secret) hashes
 * into credentials.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { html } from "hono/html";
import type { AppEnv } from "../deps.js";
import { problem } from "../problem.js";
import type { KeyRing } from "./keys.js";

/** Always reachable without a key. */
export const OPEN_PATHS: ReadonlySet<string> = new Set(["/health", "/ready", "/login", "/logout"]);
/** Reachable with GET/HEAD without a key when PUBLIC_DASHBOARD=true: the overview and its SSE stream. */
export const PUBLIC_DASHBOARD_PATHS: ReadonlySet<string> = new Set(["/", "/events"]);
/** Static dashboard assets (scripts, styles; no data), open with GET/HEAD when PUBLIC_DASHBOARD=true. */
export const PUBLIC_ASSET_PREFIX = "/assets/";

export const COOKIE_NAME = "baton_key";
const COOKIE_MAX_AGE_S = 12 * 60 * 60;

/** Per request: the configured hash that authorised it ("" when auth is off), or absent. */
const principals = new WeakMap<Context, string>();

/** The caller's identity for scoping (rate limits, idempotency keys): the matched key hash, "" when auth is off. */
export function principalOf(c: Context): string | undefined {
  return principals.get(c);
}

/**
 * True when the request carried a valid key (or no keys are configured). Pages that are public
 * under PUBLIC_DASHBOARD use it to decide whether to show more than the overview.
 */
export function isAuthorized(c: Context): boolean {
  return principals.has(c);
}

/** The credential the request presents, by precedence; "" for a present but empty/malformed one. */
export function presentedKey(c: Context): string | null {
  const auth = c.req.header("authorization");
  if (auth !== undefined) return /^Bearer[ \t]+(.+)$/i.exec(auth.trim())?.[1].trim() ?? "";
  const header = c.req.header("x-api-key");
  if (header !== undefined) return header.trim();
  const cookie = getCookie(c, COOKIE_NAME);
  return cookie === undefined ? null : cookie;
}

function isPublic(c: Context, publicDashboard: boolean): boolean {
  const path = c.req.path;
  if (OPEN_PATHS.has(path)) return true;
  if (!publicDashboard || (c.req.method !== "GET" && c.req.method !== "HEAD")) return false;
  return PUBLIC_DASHBOARD_PATHS.has(path) || path.startsWith(PUBLIC_ASSET_PREFIX);
}

function wantsPage(c: Context): boolean {
  return (
    c.req.method === "GET" &&
    !c.req.path.startsWith("/api/") &&
    c.req.path !== "/metrics" &&
    (c.req.header("accept") ?? "").includes("text/html")
  );
}

/** The auth middleware (registered before every route). */
export function authMiddleware(keys: KeyRing, publicDashboard: boolean) {
  return (app: OpenAPIHono<AppEnv>) => {
    app.use("*", async (c, next) => {
      if (keys.open) {
        principals.set(c, "");
        return next();
      }
      const presented = presentedKey(c);
      const matched = keys.match(presented);
      if (matched) {
        principals.set(c, matched);
        return next();
      }
      if (isPublic(c, publicDashboard)) return next();
      if (wantsPage(c)) {
        const url = new URL(c.req.url);
        return c.redirect(`/login?next=${encodeURIComponent(url.pathname + url.search)}`, 303);
      }
      const detail = presented === null ? "an API key is required (Authorization: Bearer <key> or X-API-Key)" : "invalid API key";
      return problem(c, 401, detail, {}, { "www-authenticate": 'Bearer realm="baton"' });
    });
  };
}

/** Only same-origin paths are allowed as a post-login destination. */
function safeNext(next: unknown): string {
  return typeof next === "string" && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\") ? next : "/";
}

function isHttps(c: Context): boolean {
  const fwd = c.req.header("x-forwarded-proto")?.split(",")[0].trim().toLowerCase();
  return fwd === "https" || new URL(c.req.url).protocol === "https:";
}

function loginPage(next: string, message: string | null, open: boolean) {
  return html`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>baton: sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem;color:#1b1f24}
label{display:block;margin:.8rem 0 .3rem}input{width:100%;padding:.4rem;font:inherit;box-sizing:border-box}
button{margin-top:1rem;padding:.4rem 1.2rem;font:inherit}.err{color:#b3261e}
</style></head>
<body><main>
<h1>baton</h1>
${
  open
    ? html`<p>No API keys are configured: baton is open (and listens on loopback only). <a href="/">Continue</a>.</p>`
    : html`${message ? html`<p class="err" role="alert">${message}</p>` : ""}
<form method="post" action="/login">
<input type="hidden" name="next" value="${next}">
<label for="key">API key</label>
<input id="key" name="key" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button>
</form>
<p><small>The key is kept in an HttpOnly, SameSite=Strict cookie for 12 hours.</small></p>`
}
</main></body></html>`;
}

/** GET /login (form), POST /login (verify the key, set the cookie), POST /logout (clear it). */
export function loginRoutes(keys: KeyRing) {
  return (app: OpenAPIHono<AppEnv>) => {
    app.get("/login", (c) => c.html(loginPage(safeNext(c.req.query("next")), null, keys.open)));
    app.post(
      "/login",
      bodyLimit({ maxSize: 16 * 1024, onError: (c) => problem(c, 413, "login form larger than 16 KiB") }),
      async (c) => {
        const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
        const next = safeNext(form.next);
        if (keys.open) return c.redirect(next, 303);
        const key = typeof form.key === "string" ? form.key.trim() : "";
        if (!keys.match(key)) return c.html(loginPage(next, "That key is not valid.", false), 401);
        setCookie(c, COOKIE_NAME, key, {
          httpOnly: true,
          sameSite: "Strict",
          secure: isHttps(c),
          path: "/",
          maxAge: COOKIE_MAX_AGE_S,
        });
        return c.redirect(next, 303);
      },
    );
    app.post("/logout", (c) => {
      deleteCookie(c, COOKIE_NAME, { path: "/", secure: isHttps(c) });
      return c.redirect("/login", 303);
    });
  };
}
