import ipaddr from 'ipaddr.js';
import { PictorError } from '../errors.ts';

/**
 * The VCL of a Varnish edge in front of Pictor nodes (Varnish 7.1 with the xkey vmod of varnish-modules).
 *
 * - Render responses are cached by their Cache-Control; their `xkey` header (edges/edge-keys.ts) files them
 *   under their edge keys. `no-store` (a render a purge overtook, see delivery/respond.ts) is never cached.
 * - `PURGE` is answered only for the purgers' addresses (the nodes that coordinate purges): `xkey-purge:
 *   <keys>` (several, space-separated) hard-purges everything tagged with any of them; `x-flush-all: 1` bans
 *   every object, which is how an edge that missed purges is re-admitted.
 * - A round-robin director spreads misses over the nodes; each is probed on `/healthz`, so a node that
 *   answers 503 there (fenced, lagging) stops getting traffic.
 * - `Cache-Status` (RFC 9211) gets the edge's entry appended; `xkey` is removed before clients, unless a
 *   purger asks with `x-debug-keys`. Cookies are dropped: images do not vary by them.
 * - Grace comes from `stale-while-revalidate`, which Varnish reads itself; `keep` lets a refetch be conditional.
 */
export interface VclOptions {
  /** The nodes' render listeners, `host:port` (an IPv6 address in brackets). */
  backends: string[];
  /** Addresses or CIDR ranges allowed to PURGE; default the loopback addresses. */
  purgers?: string[];
  /** The name `Cache-Status` gives the edge; default varnishd's identity (`-i`, else the host name). */
  name?: string;
}

export const DEFAULT_PURGERS = ['127.0.0.1', '::1'];

const PROBE = { url: '/healthz', interval: '1s', window: 3, threshold: 2, timeout: '500ms' };

interface Backend {
  host: string;
  port: number;
}

export function renderVcl(options: VclOptions): string {
  if (options.backends.length === 0) throw new PictorError('BAD_REQUEST', 'Give at least one backend (a node\'s render listener, HOST:PORT).');
  const backends = options.backends.map(parseBackend);
  const purgers = (options.purgers?.length ? options.purgers : DEFAULT_PURGERS).map(parsePurger);
  const identity = options.name === undefined ? 'server.identity' : `"${checkName(options.name)}"`;

  return `vcl 4.1;
# A Pictor edge, printed by \`pictor vcl\`. Needs varnish-modules (xkey).
import directors;
import std;
import xkey;

probe pictor_healthz {
    .url = "${PROBE.url}";
    .interval = ${PROBE.interval};
    .window = ${PROBE.window};
    .threshold = ${PROBE.threshold};
    .timeout = ${PROBE.timeout};
}
${backends.map((backend, i) => `
backend pictor_${i} {
    .host = "${backend.host}";
    .port = "${backend.port}";
    .connect_timeout = 1s;
    .first_byte_timeout = 60s;
    .between_bytes_timeout = 10s;
    .probe = pictor_healthz;
}`).join('\n')}

# Who may PURGE: the nodes that coordinate purges.
acl purgers {
${purgers.map((purger) => `    ${purger};`).join('\n')}
}

sub vcl_init {
    new pictor = directors.round_robin();
${backends.map((_, i) => `    pictor.add_backend(pictor_${i});`).join('\n')}
}

sub vcl_recv {
    if (req.method == "PURGE") {
        if (client.ip !~ purgers) {
            return (synth(403, "Forbidden"));
        }
        # Re-admission: everything cached may have missed purges.
        if (req.http.x-flush-all == "1") {
            if (std.ban("obj.status != 0")) {
                return (synth(200, "Flushed"));
            }
            return (synth(500, std.ban_error()));
        }
        if (req.http.xkey-purge) {
            set req.http.x-purged = xkey.purge(req.http.xkey-purge);
            return (synth(200, "Purged"));
        }
        return (synth(400, "Send xkey-purge: <keys> or x-flush-all: 1"));
    }
    if (req.method != "GET" && req.method != "HEAD") {
        return (synth(405, "Method Not Allowed"));
    }
    set req.backend_hint = pictor.backend();
    # Images do not vary by cookie or credentials: neither splits nor bypasses the cache.
    unset req.http.cookie;
    unset req.http.authorization;
    return (hash);
}

sub vcl_backend_response {
    # A render a purge overtook, or anything else Pictor says no edge may keep.
    if (beresp.http.cache-control ~ "no-store") {
        set beresp.ttl = 1s;
        set beresp.uncacheable = true;
        return (deliver);
    }
    # beresp.grace comes from stale-while-revalidate; keep lets an expired object be refetched conditionally.
    set beresp.keep = 1h;
}

sub vcl_synth {
    set resp.http.x-edge = ${identity};
    if (req.method == "PURGE" && req.http.x-purged) {
        set resp.http.x-purged = req.http.x-purged;
    }
}

sub vcl_deliver {
    # RFC 9211: this edge's entry goes after those of the caches nearer the origin (Pictor's own).
    if (obj.uncacheable) {
        set req.http.x-edge-status = ${identity} + "; fwd=miss";
    } elsif (obj.hits > 0 && obj.ttl <= 0s) {
        set req.http.x-edge-status = ${identity} + "; hit; fwd=stale; ttl=" + std.integer(duration = obj.ttl, fallback = 0);
    } elsif (obj.hits > 0) {
        set req.http.x-edge-status = ${identity} + "; hit; ttl=" + std.integer(duration = obj.ttl, fallback = 0);
    } else {
        set req.http.x-edge-status = ${identity} + "; fwd=miss; stored";
    }
    if (resp.http.cache-status) {
        set resp.http.cache-status = resp.http.cache-status + ", " + req.http.x-edge-status;
    } else {
        set resp.http.cache-status = req.http.x-edge-status;
    }
    unset req.http.x-edge-status;
    # The keys are for purging, not for clients (a purger may ask to see them).
    if (!(req.http.x-debug-keys && client.ip ~ purgers)) {
        unset resp.http.xkey;
    }
}
`;
}

/** `host:port`, `[ipv6]:port`: a host name or address and a port, as Varnish resolves it when the VCL loads. */
export function parseBackend(value: string): Backend {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(value.trim());
  const port = Number(match?.[3]);
  const host = match?.[1] ?? match?.[2];
  const valid =
    match !== null &&
    port >= 1 &&
    port <= 65535 &&
    (match[1] !== undefined ? ipaddr.IPv6.isValid(host!) : /^(?!-)[A-Za-z0-9-]{1,63}(?:\.(?!-)[A-Za-z0-9-]{1,63})*\.?$/.test(host!));
  if (!valid) {
    throw new PictorError('BAD_REQUEST', `Backend ${JSON.stringify(value)} is not HOST:PORT (a host name or address, [IPv6]:PORT for IPv6, and a port from 1 to 65535).`);
  }
  return { host: host!, port };
}

/** An address or a CIDR range, as a VCL ACL entry: `"10.0.0.0"/8`. */
export function parsePurger(value: string): string {
  const trimmed = value.trim();
  try {
    const [address, bits] = trimmed.split('/');
    // Dotted quads only: ipaddr.js would also read shorthands such as 10.1 as addresses.
    if (address !== undefined && (ipaddr.IPv4.isValidFourPartDecimal(address) || ipaddr.IPv6.isValid(address))) {
      if (bits === undefined) return `"${ipaddr.parse(address).toString()}"`;
      const [parsed, length] = ipaddr.parseCIDR(trimmed);
      // The network's own address (10.0.0.0/24 for 10.0.0.5/24): the range is what was meant.
      const network = parsed.kind() === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(trimmed) : ipaddr.IPv6.networkAddressFromCIDR(trimmed);
      return `"${network.toString()}"/${length}`;
    }
  } catch {
    // reported below
  }
  throw new PictorError('BAD_REQUEST', `Purger ${JSON.stringify(value)} is not an IP address or a CIDR range (e.g. 10.0.0.5, 10.0.0.0/24, fd00::/8).`);
}

function checkName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name)) {
    throw new PictorError('BAD_REQUEST', `Edge name ${JSON.stringify(name)} must be letters, digits, ".", "_" or "-" (at most 63), starting with a letter or digit.`);
  }
  return name;
}
