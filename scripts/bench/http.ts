/**
 * A lean keep-alive HTTP client for the load generator (node:http with a shared Agent is cheaper
 * per request than fetch, which matters when the client shares 2 cores with the server).
 */
import http from "node:http";

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

export interface Reply {
  status: number;
  body: string;
}

export function request(url: string, method: string, body?: unknown): Promise<Reply> {
  const u = new URL(url);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method,
        headers: payload ? { "content-type": "application/json", "content-length": payload.length } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    if (payload) req.write(payload);
    req.end();
  });
}

/** A request that must answer with one of the expected statuses; returns the parsed JSON body. */
export async function call<T = unknown>(url: string, method: string, body?: unknown, expect = [200, 201]): Promise<T> {
  const r = await request(url, method, body);
  if (!expect.includes(r.status)) throw new Error(`${method} ${url} → ${r.status}: ${r.body.slice(0, 300)}`);
  return (r.body ? JSON.parse(r.body) : null) as T;
}
