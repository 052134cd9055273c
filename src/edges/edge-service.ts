import { PictorError } from '../errors.ts';
import type { EdgeRecord, EdgeStore, ReadmittedBy } from '../store/edge-store.ts';
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
 * once flushed: by itself (edge-healer.ts) or by an operator (`readmit`). Whatever routes clients (a load
 * balancer, DNS) reads `in_rotation` from the registry; the purge report names edges taken out. A CDN purged
 * through its API is never out of rotation: a purge it refused is reported as failed instead.
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

  /**
   * Flushes the edge, then puts it back in rotation; returns once both are done. A failed flush leaves it out;
   * an edge in rotation already is flushed and stays in.
   */
  async readmit(name: string): Promise<EdgeRecord> {
    const edge = await this.require(name);
    if (edge.url === null || !edgeKind(edge.kind)?.addressed) {
      const why = `A ${edge.kind} edge is purged through its API and is never out of rotation: there is nothing to readmit.`;
      throw new PictorError('BAD_REQUEST', why);
    }
    try {
      if (edge.inRotation) await this.flush(edge);
      else if (!(await this.flushAndReadmit(edge, 'operator'))) return await this.readmittedMeanwhile(name);
    } catch (error) {
      if (error instanceof PictorError) throw error;
      const state = edge.inRotation ? 'It was left as it was.' : 'It stays out of rotation.';
      throw new PictorError('EDGE_UNAVAILABLE', `${(error as Error).message}. ${state}`, { cause: error });
    }
    return this.require(name);
  }

  /**
   * Puts an edge out of rotation back once it is flushed (`edge` as read before: the re-admission is conditional
   * on it); true once it is back. False when it changed meanwhile (taken out again, re-admitted elsewhere): it is
   * left as it is. Throws the flush's error, the edge left out.
   *
   * Security invariant: an edge never goes back into rotation without a whole-cache flush that succeeded after
   * it was taken out, so it can never serve what was purged while it was away. The flush starts after the read of
   * `edge`, hence after its take-out; `readmitIfUnchanged` writes only if no take-out came since that read. Purges
   * logged while it was out skip it (edge-phase.ts): one between the flush and the re-admission could leave it a
   * response fetched in that moment, so a second flush follows the re-admission, and its failure takes the edge
   * out again.
   */
  async flushAndReadmit(edge: EdgeRecord, by: ReadmittedBy): Promise<boolean> {
    await this.flush(edge);
    if (!(await this.store.readmitIfUnchanged(edge.name, edge.changedAt, by))) return false;
    try {
      await this.flush(edge);
    } catch (error) {
      await this.store.setInRotation(edge.name, false, `the flush after its re-admission failed: ${(error as Error).message}`);
      throw error;
    }
    return true;
  }

  /** Records why an edge out of rotation could not be flushed, unless it changed meanwhile or that is known already. */
  async noteFlushFailure(edge: EdgeRecord, error: string): Promise<void> {
    await this.store.noteError(edge.name, edge.changedAt, error);
  }

  private async flush(edge: EdgeRecord): Promise<void> {
    const flusher = edge.kind === 'nginx' ? this.flushers.nginx : this.flushers.varnish;
    await flusher.flush({ name: edge.name, url: edge.url! });
  }

  /** The edge after a re-admission that found it changed: back in rotation (by another node), or out again. */
  private async readmittedMeanwhile(name: string): Promise<EdgeRecord> {
    const now = await this.require(name);
    if (now.inRotation) return now;
    throw new PictorError('CONFLICT', `Edge ${JSON.stringify(name)} was taken out of rotation again while it was flushed: readmit it again.`);
  }

  async takeOut(name: string, reason: string): Promise<EdgeRecord> {
    if (!(await this.store.setInRotation(name, false, reason))) throw new PictorError('NOT_FOUND', `There is no edge named ${JSON.stringify(name)}.`);
    return this.require(name);
  }
}
