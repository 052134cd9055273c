import { PictorError } from '../errors.ts';
import type { EdgeRecord, EdgeStore } from '../store/edge-store.ts';
import { parseEdge } from './edge-attributes.ts';
import type { EdgePurger } from './edge-purger.ts';
import { edgeKind } from './kinds.ts';
import type { NginxPurger } from './nginx-purger.ts';
import type { VendorDrivers } from './vendor-drivers.ts';

/**
 * What re-admission flushes with: Varnish bans everything, nginx removes every key recorded for it; and the
 * drivers of CDN edges, closed when their edge is removed (absent where no purge runs: the CLI).
 */
export interface EdgeFlushers {
  varnish: Pick<EdgePurger, 'flush'>;
  nginx: Pick<NginxPurger, 'flush'>;
  vendors?: Pick<VendorDrivers, 'forget'>;
}

/**
 * The edges registry's rules, shared by the API, the CLI and the dashboard: attributes checked once
 * (edge-attributes.ts). An edge in front of Pictor that missed a purge is out of rotation and goes back only
 * once flushed (`readmit`). Whatever routes clients (a load balancer, DNS) reads `in_rotation` from the
 * registry; the purge report names edges taken out. A CDN purged through its API is never out of rotation: a
 * purge it refused is reported as failed instead.
 */
export class EdgeService {
  constructor(
    private readonly store: EdgeStore,
    private readonly flushers: EdgeFlushers,
  ) {}

  list(): Promise<EdgeRecord[]> {
    return this.store.list();
  }

  async require(name: string): Promise<EdgeRecord> {
    const edge = await this.store.get(name);
    if (!edge) throw new PictorError('NOT_FOUND', `There is no edge named ${JSON.stringify(name)}.`);
    return edge;
  }

  async add(attributes: unknown): Promise<EdgeRecord> {
    const edge = parseEdge(attributes);
    const added = await this.store.add(edge);
    if (!added) throw new PictorError('CONFLICT', `An edge named ${JSON.stringify(edge.name)} already exists.`, { pointer: '/data/attributes/name' });
    return added;
  }

  async remove(name: string): Promise<void> {
    if (!(await this.store.remove(name))) throw new PictorError('NOT_FOUND', `There is no edge named ${JSON.stringify(name)}.`);
    await this.flushers.vendors?.forget(name);
  }

  /** Flushes the edge, then puts it back in rotation; returns once both are done. A failed flush leaves it out. */
  async readmit(name: string): Promise<EdgeRecord> {
    const edge = await this.require(name);
    if (edge.url === null || !edgeKind(edge.kind)?.addressed) {
      const why = `A ${edge.kind} edge is purged through its API and is never out of rotation: there is nothing to readmit.`;
      throw new PictorError('BAD_REQUEST', why);
    }
    try {
      const flusher = edge.kind === 'nginx' ? this.flushers.nginx : this.flushers.varnish;
      await flusher.flush({ name: edge.name, url: edge.url });
    } catch (error) {
      const state = edge.inRotation ? 'It was left as it was.' : 'It stays out of rotation.';
      throw new PictorError('EDGE_UNAVAILABLE', `${(error as Error).message}. ${state}`, { cause: error });
    }
    await this.store.setInRotation(name, true);
    return this.require(name);
  }

  async takeOut(name: string, reason: string): Promise<EdgeRecord> {
    if (!(await this.store.setInRotation(name, false, reason))) throw new PictorError('NOT_FOUND', `There is no edge named ${JSON.stringify(name)}.`);
    return this.require(name);
  }
}
