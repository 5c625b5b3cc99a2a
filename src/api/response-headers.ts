/**
 * Middleware that gives every response a set of headers.
 *
 * The headers are prepared before the route runs, so c.json / c.body / c.html build the response
 * with them (a route's own c.header or init headers override). Setting a header after the
 * response exists re-creates it around its body stream, once per header: @hono/node-server then
 * loses its fast path, which cost the API a tenth of its CPU per request.
 *
 * Raw Response objects (problem+json, static files) do not carry prepared headers, so whatever is
 * still missing afterwards is added then. That uses c.header(), not c.res.headers.set():
 * @hono/node-server's lightweight Response drops header mutations when it is later
 * re-materialised (e.g. by another middleware's c.header).
 */
import type { Context, Next } from "hono";

export async function withHeaders(c: Context, headers: Readonly<Record<string, string>>, next: Next): Promise<void> {
  for (const k in headers) c.header(k, headers[k]);
  await next();
  for (const k in headers) if (!c.res.headers.has(k)) c.header(k, headers[k]);
}
