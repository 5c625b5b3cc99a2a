/**
 * Reads the body of /api/* writes once, bounded by MAX_BODY_BYTES, straight from Node's
 * IncomingMessage. Hono's own readers go through a web `Request`: @hono/node-server builds one
 * lazily, and the first touch of `body`, `text()` or `arrayBuffer()` creates it with its
 * AbortController, Headers copy and ReadableStream, about a fifth of the API's CPU per create.
 * Here the bytes are collected from the socket and handed to Hono's body cache, so later
 * readers (`c.req.arrayBuffer()` in the JSON guard, the idempotency fingerprint, the route's
 * validator) get them from there and never build it.
 *
 * Outside Node (a test calling `app.request()`), the body is read from the web Request instead,
 * with the same limit.
 */
import type { IncomingMessage } from "node:http";
import type { Context, MiddlewareHandler } from "hono";

/** Methods whose body is read (and checked by the JSON guard). */
export const WRITE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * Collects the body; null when it exceeds max (reading stops and the socket is left open, so the
 * 413 can still be written), undefined when the client went away or the stream broke before the
 * end.
 */
function fromIncoming(incoming: IncomingMessage, max: number): Promise<Uint8Array | null | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      incoming.off("data", onData);
      incoming.off("end", onEnd);
      incoming.off("error", onError);
      incoming.off("close", onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        done();
        incoming.pause();
        resolve(null);
      } else chunks.push(chunk);
    };
    const onEnd = () => {
      done();
      resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    };
    // An error on the request stream means the client aborted or the socket broke: nobody is
    // left to answer, so it is not a server error.
    const onError = () => {
      done();
      resolve(undefined);
    };
    const onClose = () => {
      done();
      resolve(undefined);
    };
    incoming.on("data", onData);
    incoming.on("end", onEnd);
    incoming.on("error", onError);
    incoming.on("close", onClose);
  });
}

async function fromRequest(req: Request, max: number): Promise<Uint8Array | null> {
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > max) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}

export function bodyReader(maxBytes: number, tooLarge: (c: Context) => Response): MiddlewareHandler {
  return async (c, next) => {
    if (!WRITE_METHODS.has(c.req.method)) return next();
    const declared = c.req.header("content-length");
    // Declared too large: refuse without reading (the caller's Connection: close drops the rest).
    if (declared !== undefined && Number(declared) > maxBytes) return tooLarge(c);
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    const bytes = incoming && !incoming.readableEnded ? await fromIncoming(incoming, maxBytes) : await fromRequest(c.req.raw, maxBytes);
    if (bytes === null) return tooLarge(c);
    if (bytes === undefined) return c.body(null, 400); // the client is gone; nobody reads this
    const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    (c.req.bodyCache as Record<string, unknown>).arrayBuffer = Promise.resolve(ab);
    return next();
  };
}
