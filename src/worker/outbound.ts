/**
 * The one guarded HTTP client for calls to user-supplied URLs (the `http` task type, notification
 * webhooks), built on an undici `Agent`. One client per service, created by the composition and
 * handed down (task handlers get it as `ctx.outbound`). SSRF rules:
 * - every connection the agent opens is checked, so every redirect hop and every resolved address
 *   is: a literal IP in the agent's `connect` hook, a name inside the socket's DNS lookup (so a
 *   name that re-resolves between check and connect cannot slip through);
 * - link-local and cloud metadata addresses are always denied (169.254.0.0/16, fe80::/10,
 *   fd00:ec2::254), and so are the unspecified addresses (0.0.0.0/8, ::), plus OUTBOUND_DENY;
 *   when OUTBOUND_ALLOW is set, only listed hosts/CIDRs pass. IPv6 forms that reach an IPv4
 *   address (::ffff:a9fe:a9fe, 64:ff9b::/96) are checked as that IPv4 address too; numeric
 *   spellings (http://2852039166/, 0xa9.0xfe.0xa9.0xfe) are normalised by the URL parser first;
 *   a trailing dot on a host name does not escape a host entry;
 * - redirects are followed here, at most `maxRedirects` times; a hop to another origin drops
 *   Authorization, Cookie, Proxy-Authorization and every header the caller marked secret;
 * - the response body is read up to `maxBodyBytes`; connect and total timeouts apply.
 */
import dns from "node:dns";
import net, { BlockList } from "node:net";
import { Agent, buildConnector, type Dispatcher } from "undici";

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

  /**
   * A dns.lookup replacement that refuses denied addresses at connect time. Every address a name
   * resolves to must pass: the socket may try any of them (happy eyeballs).
   */
  readonly lookup: net.LookupFunction = (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, "", 4);
      const list = addresses as dns.LookupAddress[];
      try {
        for (const a of list) this.check(hostname, a.address);
      } catch (e) {
        return callback(e as NodeJS.ErrnoException, "", 4);
      }
      if ((options as dns.LookupOptions).all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
      callback(null, list[0].address, list[0].family);
    });
  };
}

/** The total timeout of one outbound call (all hops, body included) ran out. */
export class OutboundTimeoutError extends Error {
  constructor(ms: number) {
    super(`timed out after ${ms} ms`);
    this.name = "OutboundTimeoutError";
  }
}

export interface OutboundRequest {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  /**
   * Header names (any case) that must not leave the origin of `url`: on a redirect to another
   * origin they are dropped, like the headers in ALWAYS_SECRET.
   */
  secretHeaders?: string[];
  body?: string;
  /** Total time for every hop and the body (default 30 s). */
  timeoutMs?: number;
  /** At most this many body bytes are read (default 64 KiB); the rest is discarded. */
  maxBodyBytes?: number;
  maxRedirects?: number;
  signal?: AbortSignal;
}

export interface OutboundResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The body was longer than maxBodyBytes and was cut there. */
  truncated: boolean;
  /** The URL of the final hop. */
  url: string;
}

export interface OutboundClientOptions {
  /** TCP (and TLS) connect timeout of each connection (default 5 s). */
  connectTimeoutMs?: number;
}

/** Credentials a redirect must not carry to another origin (what browsers drop too). */
export const ALWAYS_SECRET = ["authorization", "cookie", "proxy-authorization"];

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Headers that describe a body; a redirect that turns the request into a GET drops them too. */
const BODY_HEADERS = ["content-type", "content-length", "content-encoding", "content-language", "content-location"];

/** The guarded client: an undici Agent whose every connection is checked by an OutboundGuard. */
export class OutboundClient {
  private readonly agent: Agent;

  constructor(
    readonly guard: OutboundGuard,
    options: OutboundClientOptions = {},
  ) {
    const connect = buildConnector({ timeout: options.connectTimeoutMs ?? 5000, lookup: guard.lookup });
    this.agent = new Agent({
      connect: (opts, callback) => {
        // A literal IP is never looked up: check it here, before a socket exists.
        if (net.isIP(opts.hostname)) {
          try {
            guard.check(opts.hostname, opts.hostname);
          } catch (err) {
            callback(err as Error, null);
            return;
          }
        }
        connect(opts, callback);
      },
      // Webhook targets are called now and then, not in a stream: keep idle sockets briefly.
      keepAliveTimeout: 4000,
    });
  }

  /**
   * One call, redirects followed (each hop through the guarded agent). Rejects with
   * OutboundDeniedError for a refused destination or protocol, OutboundTimeoutError when the total
   * timeout runs out, the signal's reason when `signal` aborts, or the network error.
   */
  async request(req: OutboundRequest): Promise<OutboundResponse> {
    const timeoutMs = req.timeoutMs ?? 30_000;
    const timer = new AbortController();
    const t = setTimeout(() => timer.abort(new OutboundTimeoutError(timeoutMs)), timeoutMs);
    const signal = req.signal ? AbortSignal.any([req.signal, timer.signal]) : timer.signal;
    const secret = new Set([...ALWAYS_SECRET, ...(req.secretHeaders ?? []).map((h) => h.toLowerCase())]);
    const maxRedirects = req.maxRedirects ?? 3;
    let url = new URL(req.url);
    let method = (req.method ?? "GET").toUpperCase();
    let body = req.body;
    let headers: Record<string, string> = { "user-agent": "baton", ...req.headers };
    try {
      for (let hop = 0; ; hop++) {
        if (url.protocol !== "http:" && url.protocol !== "https:") throw new OutboundDeniedError(`unsupported protocol ${url.protocol}`);
        const res = await this.agent.request({ origin: url.origin, path: `${url.pathname}${url.search}`, method: method as Dispatcher.HttpMethod, headers, body, signal });
        const location = first(res.headers.location);
        if (!REDIRECTS.has(res.statusCode) || !location) {
          const read = await readCapped(res.body, req.maxBodyBytes ?? 64 * 1024);
          return { status: res.statusCode, headers: res.headers, ...read, url: url.toString() };
        }
        await res.body.dump({ limit: 64 * 1024, signal });
        if (hop >= maxRedirects) throw new Error(`too many redirects (more than ${maxRedirects})`);
        const next = new URL(location, url);
        // Once dropped, a secret stays dropped, even if a later hop comes back to the first origin.
        if (next.origin !== url.origin) headers = without(headers, secret);
        if (res.statusCode === 303 ? method !== "HEAD" : (res.statusCode === 301 || res.statusCode === 302) && method === "POST") {
          method = "GET";
          body = undefined;
          headers = without(headers, new Set(BODY_HEADERS));
        }
        url = next;
      }
    } catch (err) {
      throw signal.aborted ? signal.reason : err;
    } finally {
      clearTimeout(t);
    }
  }

  /** Closes the agent's sockets (service stop). */
  async close(): Promise<void> {
    await this.agent.close();
  }
}

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

function without(headers: Record<string, string>, names: Set<string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => !names.has(k.toLowerCase())));
}

/** Reads at most `max` bytes; stops reading (and so drops the connection) past it. */
async function readCapped(body: AsyncIterable<Buffer> & { destroy(): void }, max: number): Promise<{ body: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  for await (const chunk of body) {
    if (chunk.length > max - size) {
      chunks.push(chunk.subarray(0, max - size));
      truncated = true;
      break; // ends the iteration, which destroys the body stream
    }
    chunks.push(chunk);
    size += chunk.length;
  }
  return { body: Buffer.concat(chunks).toString("utf8"), truncated };
}
