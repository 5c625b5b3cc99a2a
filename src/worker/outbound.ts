/**
 * The one guarded HTTP client for calls to user-supplied URLs (the `http` task type, notification
 * webhooks). SSRF rules:
 * - the address actually connected to is checked (the check runs inside the socket's DNS lookup,
 *   so a name that re-resolves between check and connect cannot slip through);
 * - link-local and cloud metadata addresses are always denied (169.254.0.0/16, fe80::/10,
 *   fd00:ec2::254), and so are the unspecified addresses (0.0.0.0/8, ::), plus OUTBOUND_DENY;
 *   when OUTBOUND_ALLOW is set, only listed hosts/CIDRs pass. IPv6 forms that reach an IPv4
 *   address (::ffff:a9fe:a9fe, 64:ff9b::/96) are checked as that IPv4 address too; numeric
 *   spellings (http://2852039166/, 0xa9.0xfe.0xa9.0xfe) are normalised by the URL parser first;
 *   a trailing dot on a host name does not escape a host entry;
 * - redirects are followed manually, at most `maxRedirects` times, each hop checked again;
 * - the response body is read up to `maxBodyBytes`; connect and total timeouts apply.
 */
import dns from "node:dns";
import http from "node:http";
import https from "node:https";
import net, { BlockList } from "node:net";

export class OutboundDeniedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OutboundDeniedError";
  }
}

export interface OutboundPolicy {
  allow: string[];
  deny: string[];
}

// 0.0.0.0/8 and :: are "this host" when used as a destination: connecting to them reaches
// loopback, so a deny of 127.0.0.0/8 could otherwise be bypassed with http://0/ or http://[::]/.
const ALWAYS_DENY = ["169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128", "0.0.0.0/8", "::/128"];

/** A host name without a trailing dot ("metadata.google.internal." is the same host). */
const bareHost = (h: string) => h.toLowerCase().replace(/^\[|\]$/g, "").replace(/\.$/, "");

/**
 * The IPv4 address an IPv6 address carries and that a connection to it reaches:
 * IPv4-mapped ::ffff:a.b.c.d in either notation (::ffff:a9fe:a9fe) and NAT64 64:ff9b::/96.
 */
export function embeddedIPv4(address: string): string | null {
  if (net.isIP(address) !== 6) return null;
  const dotted = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (dotted) return dotted;
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (!hex) return null;
  const hi = Number.parseInt(hex[1], 16);
  const lo = Number.parseInt(hex[2], 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

interface CompiledList {
  hosts: Set<string>;
  blocks: BlockList;
  any: boolean;
}

function compile(entries: string[]): CompiledList {
  const hosts = new Set<string>();
  const blocks = new BlockList();
  let any = false;
  for (const raw of entries) {
    const e = raw.trim().toLowerCase();
    if (!e) continue;
    any = true;
    const [addr, prefix] = e.split("/");
    const family = net.isIP(addr);
    if (family) {
      const type = family === 6 ? "ipv6" : "ipv4";
      if (prefix !== undefined) blocks.addSubnet(addr, Number(prefix), type);
      else blocks.addAddress(addr, type);
    } else {
      hosts.add(bareHost(e));
    }
  }
  return { hosts, blocks, any };
}

export class OutboundGuard {
  private readonly allow: CompiledList;
  private readonly deny: CompiledList;
  private readonly always = compile(ALWAYS_DENY);

  constructor(policy: OutboundPolicy) {
    this.allow = compile(policy.allow);
    this.deny = compile(policy.deny);
  }

  /** Throws OutboundDeniedError unless `host` resolving to `address` may be contacted. */
  check(host: string, address: string): void {
    const h = bareHost(host);
    const type = net.isIP(address) === 6 ? "ipv6" : "ipv4";
    // IPv4-mapped (::ffff:a.b.c.d, ::ffff:a9fe:a9fe) and NAT64 addresses are also checked as the
    // IPv4 address they reach.
    const mapped = embeddedIPv4(address);
    const probe = (l: CompiledList) =>
      l.hosts.has(h) || l.blocks.check(address, type) || (mapped ? l.blocks.check(mapped, "ipv4") : false);
    if (probe(this.always)) throw new OutboundDeniedError(`destination ${host} (${address}) is a link-local, metadata or unspecified address and is always denied`);
    if (probe(this.deny)) throw new OutboundDeniedError(`destination ${host} (${address}) is denied by OUTBOUND_DENY`);
    if (this.allow.any && !probe(this.allow)) throw new OutboundDeniedError(`destination ${host} (${address}) is not in OUTBOUND_ALLOW`);
  }

  /** A dns.lookup replacement that refuses denied addresses at connect time. */
  lookupFor(host: string): net.LookupFunction {
    return (hostname, options, callback) => {
      dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
        if (err) return callback(err, "", 4);
        const list = addresses as dns.LookupAddress[];
        try {
          for (const a of list) this.check(host, a.address);
        } catch (e) {
          return callback(e as NodeJS.ErrnoException, "", 4);
        }
        if ((options as dns.LookupOptions).all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
        callback(null, list[0].address, list[0].family);
      });
    };
  }
}

export interface OutboundRequest {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
  connectTimeoutMs?: number;
  maxBodyBytes?: number;
  maxRedirects?: number;
  signal?: AbortSignal;
}

export interface OutboundResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  truncated: boolean;
  url: string;
}

export async function outboundRequest(guard: OutboundGuard, req: OutboundRequest): Promise<OutboundResponse> {
  const total = AbortSignal.timeout(req.timeoutMs ?? 30_000);
  const signal = req.signal ? AbortSignal.any([req.signal, total]) : total;
  let url = new URL(req.url);
  let method = (req.method ?? "GET").toUpperCase();
  let body = req.body;
  const maxRedirects = req.maxRedirects ?? 3;
  for (let hop = 0; ; hop++) {
    const res = await once(guard, url, method, req.headers ?? {}, body, signal, req.connectTimeoutMs ?? 5000, req.maxBodyBytes ?? 64 * 1024);
    if (res.status >= 300 && res.status < 400 && res.headers.location) {
      if (hop >= maxRedirects) throw new Error(`too many redirects (more than ${maxRedirects})`);
      url = new URL(res.headers.location, url);
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === "POST")) {
        method = "GET";
        body = undefined;
      }
      continue;
    }
    return res;
  }
}

function once(
  guard: OutboundGuard,
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  signal: AbortSignal,
  connectTimeoutMs: number,
  maxBodyBytes: number,
): Promise<OutboundResponse> {
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return Promise.reject(new OutboundDeniedError(`unsupported protocol ${url.protocol}`));
  }
  const host = url.hostname.replace(/^\[|\]$/g, "");
  // A literal IP never goes through lookup: check it here.
  if (net.isIP(host)) {
    try {
      guard.check(host, host);
    } catch (e) {
      return Promise.reject(e);
    }
  }
  const mod = url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const r = mod.request(
      url,
      { method, headers: { "user-agent": "baton", ...headers }, lookup: guard.lookupFor(host), signal },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        let truncated = false;
        res.on("data", (c: Buffer) => {
          if (size >= maxBodyBytes) {
            truncated = true;
            res.destroy();
            return;
          }
          chunks.push(c.subarray(0, maxBodyBytes - size));
          size += c.length;
          if (size > maxBodyBytes) truncated = true;
        });
        const done = () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8"), truncated, url: url.toString() });
        res.on("end", done);
        res.on("close", done);
        res.on("error", (e) => (truncated ? done() : reject(e)));
      },
    );
    const timer = setTimeout(() => r.destroy(new Error(`connect timeout after ${connectTimeoutMs} ms`)), connectTimeoutMs);
    r.on("socket", (s) => {
      // A reused keep-alive socket is already connected and never fires "connect" again:
      // listening on it anyway would pile up listeners request after request.
      if (!s.connecting) {
        clearTimeout(timer);
        return;
      }
      s.once("connect", () => clearTimeout(timer));
    });
    r.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    r.on("close", () => clearTimeout(timer));
    if (body !== undefined) r.write(body);
    r.end();
  });
}
