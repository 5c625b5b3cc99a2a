/**
 * The guarded outbound client against real HTTP servers on loopback: two ports on 127.0.0.1 are
 * two origins. Redirects to another origin lose the credentials and the headers marked secret;
 * every hop and every resolved address goes through the guard (OUTBOUND_ALLOW / OUTBOUND_DENY);
 * the body is read only up to the cap; connect and total timeouts end a call that hangs.
 * (127.0.0.2 is loopback too on Linux, so a second address needs no outside network.)
 */
import http from "node:http";
import net from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { OutboundClient, OutboundDeniedError, OutboundGuard, OutboundTimeoutError } from "../src/worker/outbound.js";
import { streamForever } from "./helpers/http.js";

interface Seen {
  url: string;
  method: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A server that records every request; `route` answers it (200 "ok" by default). */
async function server(host: string, route: (req: Seen, res: http.ServerResponse) => void = (_q, r) => r.end("ok")) {
  const seen: Seen[] = [];
  const s = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const q = { url: req.url ?? "", method: req.method ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
      seen.push(q);
      route(q, res);
    });
  });
  await new Promise<void>((r) => s.listen(0, host, r));
  const origin = `http://${host}:${(s.address() as net.AddressInfo).port}`;
  return { seen, origin, close: () => new Promise<void>((r) => s.close(() => r())), server: s };
}

type Srv = Awaited<ReturnType<typeof server>>;
let a: Srv; // origin A: redirects
let b: Srv; // origin B: another port, so another origin
let other: Srv; // 127.0.0.2
const clients: OutboundClient[] = [];

function client(policy: { allow?: string[]; deny?: string[] } = {}, connectTimeoutMs?: number) {
  const c = new OutboundClient(new OutboundGuard({ allow: policy.allow ?? [], deny: policy.deny ?? [] }), { connectTimeoutMs });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  b = await server("127.0.0.1");
  other = await server("127.0.0.2");
  a = await server("127.0.0.1", (q, res) => {
    const to = new URL(q.url, "http://x").searchParams.get("to");
    if (to) {
      res.writeHead(Number(new URL(q.url, "http://x").searchParams.get("status") ?? 302), { location: to });
      res.end();
    } else res.end("a");
  });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await Promise.all([a, b, other].map((s) => s?.close()));
});

const SECRET_HEADERS = {
  authorization: "Bearer top-secret",
  cookie: "session=abc",
  "proxy-authorization": "Basic cHJveHk=",
  "x-api-token": "marked-secret",
  "x-trace": "plain",
};

describe("redirects", () => {
  it("drop Authorization, Cookie, Proxy-Authorization and marked headers on the way to another origin", async () => {
    const res = await client().request({
      url: `${a.origin}/start?to=${encodeURIComponent(`${b.origin}/landing`)}`,
      headers: SECRET_HEADERS,
      secretHeaders: ["X-Api-Token"],
    });
    expect(res.status).toBe(200);
    expect(res.url).toBe(`${b.origin}/landing`);
    const first = a.seen.at(-1)!;
    expect(first.headers).toMatchObject(SECRET_HEADERS); // the first origin got everything
    const landed = b.seen.at(-1)!;
    expect(landed.url).toBe("/landing");
    for (const h of ["authorization", "cookie", "proxy-authorization", "x-api-token"]) expect(landed.headers[h], h).toBeUndefined();
    expect(landed.headers["x-trace"]).toBe("plain");
  });

  it("keep every header on a redirect within the same origin", async () => {
    const res = await client().request({ url: `${a.origin}/start?to=/plain`, headers: SECRET_HEADERS, secretHeaders: ["x-api-token"] });
    expect(res.status).toBe(200);
    expect(a.seen.at(-1)!.url).toBe("/plain");
    expect(a.seen.at(-1)!.headers).toMatchObject(SECRET_HEADERS);
  });

  it("turn a POST into a GET without its body on 303", async () => {
    const res = await client().request({
      url: `${a.origin}/start?status=303&to=${encodeURIComponent(`${b.origin}/see-other`)}`,
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"x":1}',
    });
    expect(res.status).toBe(200);
    expect(a.seen.at(-1)).toMatchObject({ method: "POST", body: '{"x":1}' });
    const landed = b.seen.at(-1)!;
    expect(landed).toMatchObject({ url: "/see-other", method: "GET", body: "" });
    expect(landed.headers["content-type"]).toBeUndefined();
  });

  it("are checked hop by hop: a hop to a denied address fails and that server hears nothing", async () => {
    const before = other.seen.length;
    const err = await client({ deny: ["127.0.0.2"] })
      .request({ url: `${a.origin}/start?to=${encodeURIComponent(`${other.origin}/x`)}` })
      .catch((e) => e);
    expect(err).toBeInstanceOf(OutboundDeniedError);
    expect(err.message).toContain("denied by OUTBOUND_DENY");
    expect(other.seen.length).toBe(before);
  });

  it("stop after maxRedirects", async () => {
    const loop = `${a.origin}/start?to=${encodeURIComponent(`${a.origin}/start?to=/start%3Fto%3D%2Fagain`)}`;
    await expect(client().request({ url: loop, maxRedirects: 1 })).rejects.toThrow(/too many redirects/);
  });
});

describe("OUTBOUND_ALLOW and OUTBOUND_DENY", () => {
  it("with an allow list, only listed addresses are reached, on the first hop and after a redirect", async () => {
    const c = client({ allow: ["127.0.0.1/32"] });
    expect((await c.request({ url: `${b.origin}/allowed` })).status).toBe(200);
    const before = other.seen.length;
    await expect(c.request({ url: `${other.origin}/direct` })).rejects.toThrow(/not in OUTBOUND_ALLOW/);
    await expect(c.request({ url: `${a.origin}/start?to=${encodeURIComponent(`${other.origin}/hop`)}` })).rejects.toThrow(/not in OUTBOUND_ALLOW/);
    expect(other.seen.length).toBe(before);
  });

  it("a host entry allows that name, not the address behind it", async () => {
    const c = client({ allow: ["localhost"] });
    const port = new URL(b.origin).port;
    expect((await c.request({ url: `http://localhost:${port}/by-name` })).status).toBe(200);
    await expect(c.request({ url: `${b.origin}/by-address` })).rejects.toThrow(/not in OUTBOUND_ALLOW/);
  });

  it("checks every address a name resolves to (in the connection's lookup)", async () => {
    const before = b.seen.length;
    const err = await client({ deny: ["127.0.0.0/8", "::1"] })
      .request({ url: `http://localhost:${new URL(b.origin).port}/resolved` })
      .catch((e) => e);
    expect(err).toBeInstanceOf(OutboundDeniedError);
    expect(err.message).toMatch(/destination localhost \((127\.0\.0\.1|::1)\) is denied by OUTBOUND_DENY/);
    expect(b.seen.length).toBe(before);
  });

  it("always denies the metadata address, allow list or not", async () => {
    await expect(client({ allow: ["169.254.169.254"] }).request({ url: "http://169.254.169.254/latest/meta-data/" })).rejects.toThrow(/always denied/);
  });
});

describe("limits", () => {
  it("reads the body only up to maxBodyBytes, even when it never ends", async () => {
    let closed = false;
    const endless = await server("127.0.0.1", (_q, res) =>
      streamForever(res, "x", () => {
        closed = true;
      }),
    );
    try {
      const res = await client().request({ url: `${endless.origin}/endless`, maxBodyBytes: 1000 });
      expect(res.body).toBe("x".repeat(1000));
      expect(res.truncated).toBe(true);
      // The client hung up instead of draining the rest.
      await expect.poll(() => closed).toBe(true);
    } finally {
      await endless.close();
    }
  });

  it("a body of exactly maxBodyBytes is not truncated", async () => {
    const exact = await server("127.0.0.1", (_q, res) => res.end("y".repeat(500)));
    try {
      const res = await client().request({ url: `${exact.origin}/`, maxBodyBytes: 500 });
      expect(res).toMatchObject({ body: "y".repeat(500), truncated: false });
    } finally {
      await exact.close();
    }
  });

  it("the total timeout ends a call whose server never answers", async () => {
    const silent = await server("127.0.0.1", () => {}); // reads the request, never responds
    try {
      const err = await client().request({ url: `${silent.origin}/`, timeoutMs: 200 }).catch((e) => e);
      expect(err).toBeInstanceOf(OutboundTimeoutError);
      expect(err.message).toBe("timed out after 200 ms");
      expect(silent.seen).toHaveLength(1);
    } finally {
      silent.server.closeAllConnections();
      await silent.close();
    }
  });

  it("the connect timeout ends a connection that never completes (TLS handshake unanswered)", async () => {
    const sockets: net.Socket[] = [];
    const mute = net.createServer((s) => sockets.push(s)); // accepts TCP, never speaks TLS
    await new Promise<void>((r) => mute.listen(0, "127.0.0.1", r));
    try {
      const port = (mute.address() as net.AddressInfo).port;
      const err = await client({}, 200)
        .request({ url: `https://127.0.0.1:${port}/`, timeoutMs: 60_000 })
        .catch((e) => e);
      expect(err.code).toBe("UND_ERR_CONNECT_TIMEOUT");
      expect(sockets.length).toBeGreaterThan(0);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => mute.close(r));
    }
  });

  it("the caller's signal aborts with its own reason", async () => {
    const silent = await server("127.0.0.1", () => {});
    try {
      const ac = new AbortController();
      const p = client().request({ url: `${silent.origin}/`, signal: ac.signal });
      await expect.poll(() => silent.seen.length).toBe(1);
      const reason = new Error("canceled by the test");
      ac.abort(reason);
      await expect(p).rejects.toBe(reason);
    } finally {
      silent.server.closeAllConnections();
      await silent.close();
    }
  });
});
