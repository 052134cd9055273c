import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { Agent, buildConnector } from 'undici';
import { PictorError } from '../errors.ts';

/**
 * SSRF protection for every outbound fetch: `webfolder`, `webproxy` and sub-image URLs (undici, through
 * `OutboundGuard`), and `s3`, `s3_compatible` and `gcs` endpoints (the AWS SDK, through `guardedNodeAgents`).
 * A key with the `sources` permission chooses these destinations, so none of them is trusted.
 *
 * Security invariant: no outbound request reaches a loopback, private (RFC 1918), CGNAT, link-local,
 * cloud-metadata (169.254.169.254, fd00:ec2::254), multicast, broadcast, unspecified, reserved or
 * documentation address, an IPv6 ULA or link-local address, or an IPv4-mapped / NAT64 / 6to4 IPv6 form of
 * any of those, unless the allow-list (`--outbound-allow`, IPs and CIDRs) admits it. Only `http:` and
 * `https:` are spoken.
 *
 * How it holds:
 * - The check is made on the **resolved IP**, at the connection layer, by one `ConnectionCheck` whichever
 *   client opens the socket (the undici connector, or the `createConnection` of node:http(s) agents): an
 *   IP-literal host is checked as it is, and a host name gets a `lookup` that resolves it, checks **every**
 *   address and hands back only allowed ones. The socket then connects to one of those validated addresses,
 *   never to a second resolution, so DNS rebinding (a name that resolves to a public IP when checked and a
 *   private one when connecting) cannot slip through.
 * - The policy is deny-by-default: an address is public only when ipaddr.js classifies it as `unicast`
 *   (nothing special); addresses that embed an IPv4 address (IPv4-mapped, RFC 6145, NAT64, 6to4) are judged
 *   by the IPv4 address they embed; Teredo and the deprecated IPv4-compatible `::a.b.c.d` are refused.
 * - Redirects are not followed by the HTTP client: `http-fetch.ts` follows at most 3 by hand and every hop
 *   goes through `checkUrl` and the same connector. The AWS SDK follows none itself (its region redirects
 *   are new requests through the same agents).
 * - No proxy is used (neither client reads `HTTP_PROXY`), so the connection goes where the check says.
 *
 * A private storage endpoint (MinIO on the local network, say) is reached only when the operator admits
 * its address with `--outbound-allow`.
 */

/** Why an address is refused (`loopback`, `private (RFC 1918)`, …), or undefined when it is public. */
export function classifyAddress(address: string): string | undefined {
  let ip: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    ip = ipaddr.parse(stripZone(address));
  } catch {
    return 'invalid';
  }
  return classify(ip);
}

const LABELS: Record<string, string> = {
  loopback: 'loopback',
  private: 'private (RFC 1918)',
  carrierGradeNat: 'carrier-grade NAT',
  linkLocal: 'link-local',
  uniqueLocal: 'unique local (ULA)',
  unspecified: 'unspecified',
  multicast: 'multicast',
  broadcast: 'broadcast',
  reserved: 'reserved',
  ipv4Mapped: 'IPv4-mapped',
  rfc6145: 'IPv4-translated',
  rfc6052: 'NAT64',
  '6to4': '6to4',
  teredo: 'Teredo',
  ipv4Compatible: 'IPv4-compatible',
};

const METADATA = new Set(['169.254.169.254', 'fd00:ec2::254']);

function label(range: string): string {
  return LABELS[range] ?? range;
}

function classify(ip: ipaddr.IPv4 | ipaddr.IPv6): string | undefined {
  const metadata = METADATA.has(ip.toString()) ? ', cloud metadata' : '';
  if (ip.kind() === 'ipv4') {
    const range = (ip as ipaddr.IPv4).range();
    return range === 'unicast' ? undefined : `${label(range)}${metadata}`;
  }
  const v6 = ip as ipaddr.IPv6;
  const range = v6.range();
  const embedded = embeddedIPv4(v6, range);
  if (embedded !== undefined) {
    const inner = classify(embedded);
    return inner === undefined ? undefined : `${label(range)} ${inner}`;
  }
  if (range !== 'unicast') return `${label(range)}${metadata}`;
  // `::a.b.c.d` (IPv4-compatible, deprecated) falls through ipaddr.js as unicast: refuse all of ::/96.
  if (v6.parts.slice(0, 6).every((part) => part === 0)) return label('ipv4Compatible');
  return undefined;
}

/** The IPv4 address inside an IPv6 address of a range that embeds one. */
function embeddedIPv4(ip: ipaddr.IPv6, range: string): ipaddr.IPv4 | undefined {
  const bytes = ip.toByteArray();
  switch (range) {
    case 'ipv4Mapped': // ::ffff:a.b.c.d
    case 'rfc6145': // ::ffff:0:a.b.c.d
      return ipaddr.fromByteArray(bytes.slice(12)) as ipaddr.IPv4;
    case 'rfc6052': // 64:ff9b::a.b.c.d (NAT64); the local-use 64:ff9b:1::/48 is not embedded this way: refused
      return ip.parts[2] === 0 ? (ipaddr.fromByteArray(bytes.slice(12)) as ipaddr.IPv4) : undefined;
    case '6to4': // 2002:aabb:ccdd::/48
      return ipaddr.fromByteArray(bytes.slice(2, 6)) as ipaddr.IPv4;
    default:
      return undefined;
  }
}

function stripZone(address: string): string {
  const percent = address.indexOf('%');
  return percent === -1 ? address : address.slice(0, percent);
}

/** The allow-list (IPs and CIDRs) and the classifier together: `refusal(ip)` is undefined when allowed. */
export class AddressPolicy {
  private readonly allowed: [ipaddr.IPv4 | ipaddr.IPv6, number][];

  constructor(allowList: readonly string[]) {
    this.allowed = allowList.map((entry) => {
      const trimmed = entry.trim();
      if (trimmed.includes('/')) return ipaddr.parseCIDR(trimmed);
      const ip = ipaddr.parse(trimmed);
      return [ip, ip.kind() === 'ipv4' ? 32 : 128];
    });
  }

  /** Why this address may not be reached, or undefined when it may. */
  refusal(address: string): string | undefined {
    let ip: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      ip = ipaddr.parse(stripZone(address));
    } catch {
      return 'not an IP address';
    }
    if (this.isAllowListed(ip)) return undefined;
    return classify(ip);
  }

  /** Whether the allow-list admits this address by name (not merely because it is public). */
  allowListed(address: string): boolean {
    try {
      return this.isAllowListed(ipaddr.parse(stripZone(address)));
    } catch {
      return false;
    }
  }

  private isAllowListed(ip: ipaddr.IPv4 | ipaddr.IPv6): boolean {
    // An IPv4-mapped IPv6 address is matched as the IPv4 address it is, so `127.0.0.1/32` admits `::ffff:127.0.0.1`.
    const candidates: (ipaddr.IPv4 | ipaddr.IPv6)[] = [ip];
    if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) candidates.push((ip as ipaddr.IPv6).toIPv4Address());
    return this.allowed.some(([range, bits]) => candidates.some((candidate) => candidate.kind() === range.kind() && candidate.match(range, bits)));
  }
}

export function outboundRefused(message: string): PictorError {
  return new PictorError('OUTBOUND_REFUSED', `Outbound request refused: ${message}. Allow the address with --outbound-allow if it is intended.`);
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/** Resolves a host name to all its addresses (dns.lookup by default; replaceable to simulate DNS in tests). */
export type Resolver = (hostname: string, family: number) => Promise<dns.LookupAddress[]>;

const systemResolver: Resolver = (hostname, family) => dns.promises.lookup(hostname, { all: true, family, verbatim: true });

export interface OutboundGuardOptions {
  connectTimeoutMs?: number;
  resolve?: Resolver;
}

/** An address the guard refuses, and why (`loopback`, `private (RFC 1918)`, …). */
export interface Refusal {
  address: string;
  reason: string;
}

/** The checks every guarded connection makes, whichever HTTP client opens it: the one implementation of the rules. */
class ConnectionCheck {
  constructor(
    readonly policy: AddressPolicy,
    private readonly resolve: Resolver,
  ) {}

  /** Every address of a host name, of either family. */
  resolveAll(hostname: string): Promise<dns.LookupAddress[]> {
    return this.resolve(hostname, 0);
  }

  /** The refusal of an IP-literal host (net.connect skips `lookup` for those); undefined for an allowed IP or a name. */
  literalRefusal(host: string): PictorError | undefined {
    const hostname = host.replace(/^\[(.*)\]$/, '$1');
    if (isIP(stripZone(hostname)) === 0) return undefined;
    const reason = this.policy.refusal(hostname);
    return reason === undefined ? undefined : outboundRefused(`${hostname} is not a public address (${reason})`);
  }

  /** The addresses of a resolved name that may be connected to, or why none may (the first address refused). */
  judgeResolved(addresses: readonly dns.LookupAddress[]): { allowed: dns.LookupAddress[]; refused?: Refusal } {
    const allowed = addresses.filter((entry) => this.policy.refusal(entry.address) === undefined);
    const first = addresses[0];
    if (allowed.length > 0 || first === undefined) return { allowed };
    return { allowed, refused: { address: first.address, reason: this.policy.refusal(first.address)! } };
  }

  /** A `net.connect` lookup that resolves the name, checks every address and returns only allowed ones. */
  readonly lookup = (hostname: string, options: dns.LookupOptions, callback: LookupCallback): void => {
    const family = typeof options.family === 'number' ? options.family : 0;
    this.resolve(hostname, family).then(
      (addresses) => {
        const { allowed, refused } = this.judgeResolved(addresses);
        if (allowed.length === 0) {
          const reason = refused === undefined ? 'no address' : `${refused.address}, not a public address (${refused.reason})`;
          callback(outboundRefused(`${hostname} resolves to ${reason}`) as unknown as NodeJS.ErrnoException, []);
        } else if (options.all === true) {
          callback(null, allowed);
        } else {
          callback(null, allowed[0]!.address, allowed[0]!.family);
        }
      },
      (error: NodeJS.ErrnoException) => callback(error, []),
    );
  };
}

/**
 * Outbound HTTP(S) for untrusted destinations: an undici Agent whose every connection is checked, plus the
 * URL check made before each request and each redirect hop.
 */
export class OutboundGuard {
  readonly policy: AddressPolicy;
  readonly agent: Agent;
  private readonly check: ConnectionCheck;

  constructor(allowList: readonly string[], options: OutboundGuardOptions = {}) {
    this.policy = new AddressPolicy(allowList);
    this.check = new ConnectionCheck(this.policy, options.resolve ?? systemResolver);
    const base = buildConnector({ lookup: this.check.lookup, timeout: options.connectTimeoutMs ?? 10_000 });
    this.agent = new Agent({
      connect: (connectOptions, callback) => {
        const refusal = this.check.literalRefusal(connectOptions.hostname);
        if (refusal !== undefined) {
          callback(refusal, null);
          return;
        }
        base(connectOptions, callback);
      },
      // Idle sockets are closed quickly: origins are many and each is read rarely.
      keepAliveTimeout: 4_000,
    });
  }

  /**
   * Refuses a URL before any connection: a scheme other than http(s), credentials in the URL, or an IP-literal
   * host that is not allowed. Host names are checked after resolution, by the connector.
   */
  checkUrl(url: URL): void {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw outboundRefused(`the scheme ${url.protocol} is not http or https`);
    if (url.username !== '' || url.password !== '') throw outboundRefused('credentials in the URL are not supported');
    if (url.hostname === '') throw outboundRefused('the URL has no host');
    const refusal = this.check.literalRefusal(url.hostname);
    if (refusal !== undefined) throw refusal;
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

/** How long a save waits for a host name to resolve before leaving it to the first fetch. */
const PREFLIGHT_RESOLVE_MS = 2_000;

/**
 * Asks ahead of any fetch (when a Source is saved) whether the guard will refuse a destination, by the same
 * `ConnectionCheck`: an IP-literal host is judged as it is; a name is resolved and refused when none of its
 * addresses is allowed, as the connection would be. A name that does not resolve within a short wait, or at
 * all, is not judged (the fetch reports it then).
 */
export class OutboundPreflight {
  private readonly check: ConnectionCheck;
  private readonly resolveTimeoutMs: number;

  constructor(allowList: readonly string[], options: { resolve?: Resolver; resolveTimeoutMs?: number } = {}) {
    this.check = new ConnectionCheck(new AddressPolicy(allowList), options.resolve ?? systemResolver);
    this.resolveTimeoutMs = options.resolveTimeoutMs ?? PREFLIGHT_RESOLVE_MS;
  }

  /** The address of `url`'s host the guard refuses, or undefined when it connects (or cannot tell in time). */
  async refusal(url: URL): Promise<Refusal | undefined> {
    const hostname = stripZone(url.hostname.replace(/^\[(.*)\]$/, '$1'));
    if (isIP(hostname) !== 0) {
      const reason = this.check.policy.refusal(hostname);
      return reason === undefined ? undefined : { address: hostname, reason };
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), this.resolveTimeoutMs);
    });
    try {
      const addresses = await Promise.race([this.check.resolveAll(hostname), timeout]);
      return addresses === undefined ? undefined : this.check.judgeResolved(addresses).refused;
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}

export interface NodeAgents {
  httpAgent: http.Agent;
  httpsAgent: https.Agent;
}

/**
 * node:http and node:https agents whose every connection goes through the same checks as `OutboundGuard`'s,
 * for clients built on node:http (the AWS SDK's request handler). Keep-alive and 50 sockets per host, as the
 * SDK's own agents.
 */
export function guardedNodeAgents(allowList: readonly string[], options: Pick<OutboundGuardOptions, 'resolve'> = {}): NodeAgents {
  const check = new ConnectionCheck(new AddressPolicy(allowList), options.resolve ?? systemResolver);
  const agentOptions = { keepAlive: true, maxSockets: 50 };
  return { httpAgent: guardAgent(new http.Agent(agentOptions), check), httpsAgent: guardAgent(new https.Agent(agentOptions), check) };
}

function guardAgent<T extends http.Agent>(agent: T, check: ConnectionCheck): T {
  const open = agent.createConnection.bind(agent);
  agent.createConnection = (options, callback) => {
    const refusal = check.literalRefusal(options.host ?? options.hostname ?? '');
    if (refusal !== undefined && callback !== undefined) {
      // The agent takes a socket either returned or handed to the callback: an error there fails the request.
      callback(refusal, undefined as never);
      return undefined as never;
    }
    if (refusal !== undefined) throw refusal;
    return open({ ...options, lookup: check.lookup as unknown as LookupFunction }, callback);
  };
  return agent;
}

/** The OUTBOUND_REFUSED error inside an error thrown by undici (it may wrap the connector's error). */
export function findRefusal(error: unknown): PictorError | undefined {
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    if (current instanceof PictorError && current.code === 'OUTBOUND_REFUSED') return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
