/**
 * Reads the body of /api/* writes once, bounded by MAX_BODY_BYTES, into Hono's body cache, so
 * later readers (the JSON guard, the idempotency fingerprint, the route's validator) share it.
 *
 * The reading itself is @hono/node-server's: since 2.0 its request's arrayBuffer() collects the
 * bytes straight from Node's IncomingMessage and builds no web `Request` (with its
 * AbortController, Headers copy and ReadableStream), which is what baton's own socket reader used
 * to do here (the same CPU: ~70 µs per 300-byte JSON POST on a bare Hono app, 20 000 requests,
 * both ways). Hono's bodyLimit middleware is not used: it looks at `c.req.raw.body` first, which
 * builds that `Request` for every write (98-110 µs per request in the same run).
 *
 * What remains here is the bound. A declared Content-Length above it is refused unread; below it,
 * Node's parser delivers exactly that many bytes. A chunked body has no declared size, so it is
 * counted as it streams (through the web stream; chunked JSON requests are rare).
 */
import type { Context, MiddlewareHandler } from "hono";

/** Methods whose body is read (and checked by the JSON guard). */
export const WRITE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * Reads a body of unknown size; null once it exceeds max. Reading then stops without cancelling
 * the stream: cancelling would destroy the socket before the 413 is written.
 */
async function readBounded(req: Request, max: number): Promise<ArrayBuffer | null> {
  if (!req.body) return new ArrayBuffer(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > max) {
      reader.releaseLock();
      return null;
    }
    chunks.push(value);
  }
  const all = Buffer.concat(chunks, size);
  return all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
}

/** Middleware: reads write bodies into the body cache; tooLarge answers a body above maxBytes. */
export function bodyReader(maxBytes: number, tooLarge: (c: Context) => Response): MiddlewareHandler {
  return async (c, next) => {
    if (!WRITE_METHODS.has(c.req.method)) return next();
    const declared = c.req.header("content-length");
    // Declared too large: refuse without reading (the caller's Connection: close drops the rest).
    if (declared !== undefined && Number(declared) > maxBytes) return tooLarge(c);
    try {
      if (declared !== undefined) {
        await c.req.arrayBuffer(); // cached by Hono for the readers after this one
      } else {
        const body = await readBounded(c.req.raw, maxBytes);
        if (body === null) return tooLarge(c);
        (c.req.bodyCache as Record<string, unknown>).arrayBuffer = Promise.resolve(body);
      }
    } catch {
      // The request stream broke before its end: the client aborted or the socket failed. Nobody
      // is left to answer, and it is not a server error.
      return c.body(null, 400);
    }
    return next();
  };
}
