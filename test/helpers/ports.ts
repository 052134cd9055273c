import fs from 'node:fs';
import net from 'node:net';

/**
 * A TCP port free on loopback now, for servers that must be started on a known port (Varnish, nginx,
 * PostgreSQL, `pictor serve` in a cluster).
 *
 * Port 0 would hand out a port from the kernel's ephemeral range, the same range outbound connections take
 * their source ports from: between our check and the server's bind, any connection made by a test running
 * beside this one can take it ("Address already in use"). So the port is drawn at random below that range,
 * where nothing is handed out implicitly, and checked by binding it.
 */
export async function freePort(): Promise<number> {
  const [low, high] = candidateRange();
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (handedOut.has(port)) continue;
    if (await bindable(port)) {
      handedOut.add(port);
      return port;
    }
  }
  const any = await bindable(0);
  if (any === false) throw new Error('no free TCP port on 127.0.0.1');
  return any;
}

const handedOut = new Set<number>();

/** The ports below the ephemeral range, above the well-known and the common development ports. */
function candidateRange(): [number, number] {
  let ephemeralLow = 32768;
  try {
    ephemeralLow = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || ephemeralLow;
  } catch {
    // Not Linux: the IANA dynamic range starts at 49152, so the default stays below it too.
  }
  return ephemeralLow > 20_000 ? [12_000, ephemeralLow - 1] : [ephemeralLow, 65_535];
}

/** Binds `port` on loopback and releases it: the port bound (or false when it is taken). */
function bindable(port: number): Promise<number | false> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => {
      const bound = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(bound));
    });
  });
}
