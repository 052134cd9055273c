import { PictorError } from '../errors.ts';
import type { EdgeRecord, EdgeStore } from '../store/edge-store.ts';
import type { EdgePurger } from './edge-purger.ts';

const NAME = /^[a-z0-9][a-z0-9\-_.]{0,62}$/;

/**
 * The edges registry's rules, shared by the API and the CLI: names and URLs checked once, here. An edge out
 * of rotation may have missed purges, so it goes back only once flushed (`readmit`). Whatever routes clients
 * (a load balancer, DNS) reads `in_rotation` from the registry; the purge report names edges taken out.
 */
export class EdgeService {
  constructor(
    private readonly store: EdgeStore,
    private readonly purger: EdgePurger,
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
    const fields = (typeof attributes === 'object' && attributes !== null ? attributes : {}) as Record<string, unknown>;
    const name = checkName(fields.name);
    const url = checkUrl(fields.url);
    const added = await this.store.add({ name, url });
    if (!added) throw new PictorError('CONFLICT', `An edge named ${JSON.stringify(name)} already exists.`, { pointer: '/data/attributes/name' });
    return added;
  }

  async remove(name: string): Promise<void> {
    if (!(await this.store.remove(name))) throw new PictorError('NOT_FOUND', `There is no edge named ${JSON.stringify(name)}.`);
  }

  /** Flushes the edge, then puts it back in rotation; returns once both are done. A failed flush leaves it out. */
  async readmit(name: string): Promise<EdgeRecord> {
    const edge = await this.require(name);
    try {
      await this.purger.flush(edge);
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

function checkName(value: unknown): string {
  if (typeof value !== 'string' || !NAME.test(value)) {
    throw new PictorError(
      'BAD_REQUEST',
      '"name" must be 1 to 63 lowercase letters, digits, "-", "_" or ".", starting with a letter or digit (e.g. "edge-1").',
      { pointer: '/data/attributes/name' },
    );
  }
  return value;
}

/** `http(s)://host:port`, the port written out; kept as `scheme://host:port`. */
function checkUrl(value: unknown): string {
  const problem = (): PictorError =>
    new PictorError('BAD_REQUEST', `"url" must be the edge's address as http://HOST:PORT (or https://), got ${JSON.stringify(value)}.`, {
      pointer: '/data/attributes/url',
    });
  if (typeof value !== 'string' || !/^https?:\/\/[^/?#@\s]+:\d{1,5}\/?$/i.test(value)) throw problem();
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw problem();
  }
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  if (Number(port) < 1 || Number(port) > 65535) throw problem();
  return `${url.protocol}//${url.hostname}:${port}`;
}
