/**
 * Security headers on every response that passes the middleware chain (pages, API, errors):
 * - Content-Security-Policy: scripts, connections (SSE, fetch), images, fonts and forms only from
 *   this origin; no plugins; no <base> tricks; frame-ancestors 'none'. Pages must use script files
 *   served by baton (no inline scripts, no eval). Inline styles are allowed ('unsafe-inline' in
 *   style-src only): the server-rendered pages and /docs carry a <style> block, and styles cannot
 *   run code.
 * - X-Frame-Options: DENY (no framing, for browsers that predate frame-ancestors);
 * - X-Content-Type-Options: nosniff; Referrer-Policy: no-referrer;
 * - Cross-Origin-Opener-Policy and Cross-Origin-Resource-Policy: same-origin.
 * A route that sets its own Content-Security-Policy (say, with a nonce) keeps it.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../deps.js";
import { withHeaders } from "../response-headers.js";

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

export function securityHeaders() {
  return (app: OpenAPIHono<AppEnv>) => {
    app.use("*", (c, next) => withHeaders(c, SECURITY_HEADERS, next));
  };
}
