import { createHash } from 'node:crypto';
import type { EdgeRecord } from '../store/edge-store.ts';
import type { EdgeDriver } from './edge-driver.ts';
import type { VendorDriverOptions } from './vendors/vendor-http.ts';

/** A vendor driver (edges/vendors/): it holds connections, closed when its edge goes. */
export interface ClosableDriver extends EdgeDriver {
  close(): Promise<void>;
}

/**
 * One driver per CDN edge on this node, made with the edge's settings on first use and kept while they stay the
 * same: its connections (and a driver's memory of the batches a vendor confirmed) outlive a single try. A driver
 * whose edge was removed, or re-added with other settings, is closed.
 */
export class VendorDrivers {
  private readonly drivers = new Map<string, { fingerprint: string; driver: ClosableDriver }>();

  constructor(private readonly options: VendorDriverOptions) {}

  /** The edge's driver: the one made for these settings, or a new one made by `make`. */
  get(edge: EdgeRecord, make: (options: VendorDriverOptions) => ClosableDriver): EdgeDriver {
    const fingerprint = fingerprintOf(edge);
    const held = this.drivers.get(edge.name);
    if (held?.fingerprint === fingerprint) return held.driver;
    if (held) void held.driver.close().catch(() => undefined);
    const driver = make(this.options);
    this.drivers.set(edge.name, { fingerprint, driver });
    return driver;
  }

  /** Closes the drivers of edges not among `names` (removed here or on another node of a cluster). */
  async retain(names: Iterable<string>): Promise<void> {
    const kept = new Set(names);
    await Promise.all([...this.drivers.keys()].filter((name) => !kept.has(name)).map((name) => this.forget(name)));
  }

  /** Closes the driver of an edge removed from the registry. */
  async forget(name: string): Promise<void> {
    const held = this.drivers.get(name);
    this.drivers.delete(name);
    await held?.driver.close();
  }

  /** Closes every driver (at stop). */
  async close(): Promise<void> {
    await this.retain([]);
  }
}

/** The edge's kind, settings and secrets, digested: the secrets are not kept a second time in the clear. */
function fingerprintOf(edge: EdgeRecord): string {
  const sorted = (values: Record<string, unknown>): [string, unknown][] => Object.entries(values).sort(([a], [b]) => a.localeCompare(b));
  return createHash('sha256').update(JSON.stringify([edge.kind, sorted(edge.settings), sorted(edge.secrets)])).digest('hex');
}
