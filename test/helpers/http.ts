/** Helpers for the local HTTP servers that outbound tests call. */
import type http from "node:http";

/**
 * Answers 200 with a body that never ends (16 KiB chunks as fast as the client reads them) and
 * calls `onClose` once the client hangs up: only a client that stops reading ever finishes.
 */
export function streamForever(res: http.ServerResponse, fill: string, onClose: () => void): void {
  res.writeHead(200, { "content-type": "text/plain" });
  const chunk = Buffer.alloc(16 * 1024, fill);
  const pump = () => {
    while (!res.destroyed && res.write(chunk));
    if (!res.destroyed) res.once("drain", pump);
  };
  res.on("close", onClose);
  pump();
}
