import { randomUUID } from 'node:crypto';
import { PictorError } from '../errors.ts';
import { canonicalPath } from '../sources/asset-path.ts';
import type { SourceRegistry } from '../sources/registry.ts';
import type { GroupCommit } from '../store/group-commit.ts';
import type { PurgeStore } from '../store/purge-store.ts';
import type { PurgeApplier } from './purge-applier.ts';
import type { PurgeRecord } from './model.ts';

export interface PurgeRequest {
  url: string;
  sourceId?: string | undefined;
  subImage?: boolean | undefined;
  /** `prefix` purges every asset under the URL's folder (Pictor extension). */
  match?: 'exact' | 'prefix' | undefined;
  requestedBy?: string | undefined;
}

/**
 * Accepts purges: resolves the URL to a Source and a canonical path, coalesces a repeat of a purge that has
 * not taken effect yet, and resolves only once the purge is durably recorded (so the API's 200 means "on disk").
 */
export class PurgeService {
  /** Purges not yet applied, by what they purge, so a repeat returns the same purge. */
  private readonly queued = new Map<string, { record: PurgeRecord; durable: Promise<void> }>();

  constructor(
    private readonly sources: SourceRegistry,
    private readonly store: PurgeStore,
    private readonly commits: GroupCommit,
    private readonly applier: PurgeApplier,
  ) {
    applier.onApplying((record) => {
      const key = dedupeKey(record);
      if (this.queued.get(key)?.record === record) this.queued.delete(key);
    });
  }

  /** Re-queues purges that were acknowledged but not applied before a stop or crash. */
  recover(): number {
    const pending = this.store.pending();
    this.applier.recover(pending);
    for (const record of pending) this.queued.set(dedupeKey(record), { record, durable: Promise.resolve() });
    return pending.length;
  }

  async purge(request: PurgeRequest): Promise<{ record: PurgeRecord; coalesced: boolean }> {
    const { sourceId, path } = this.resolve(request);
    const match = request.match ?? 'exact';
    return this.accept(
      newRecord({
        url: request.url,
        sourceId,
        path: match === 'prefix' ? folderOf(path) : path,
        match,
        subImage: request.subImage ?? false,
        parentSourceId: request.subImage ? request.sourceId : undefined,
        requestedBy: request.requestedBy,
      }),
    );
  }

  /** Purges everything cached for a Source (Pictor extension: imgix needs a support ticket for this). */
  async purgeSource(sourceId: string, requestedBy: string | undefined): Promise<{ record: PurgeRecord; coalesced: boolean }> {
    if (!this.sources.get(sourceId)) throw new PictorError('NOT_FOUND', `No Source has the id "${sourceId}".`);
    return this.accept(newRecord({ url: '', sourceId, path: '', match: 'source', subImage: false, parentSourceId: undefined, requestedBy }));
  }

  private async accept(record: PurgeRecord): Promise<{ record: PurgeRecord; coalesced: boolean }> {
    const key = dedupeKey(record);
    const existing = this.queued.get(key);
    if (existing) {
      await existing.durable;
      return { record: existing.record, coalesced: true };
    }
    const durable = this.commits.commit(() => this.store.insert(record));
    this.queued.set(key, { record, durable });
    try {
      await durable;
    } catch (error) {
      this.queued.delete(key);
      throw error;
    }
    this.applier.enqueue(record);
    return { record, coalesced: false };
  }

  get(id: string): PurgeRecord | undefined {
    return this.applier.inFlight(id) ?? this.store.get(id);
  }

  private resolve(request: PurgeRequest): { sourceId: string; path: string } {
    const url = parseUrl(request.url);
    if (request.subImage && request.sourceId === undefined) {
      throw new PictorError('BAD_REQUEST', 'A sub-image purge needs "source_id": the id of the Source whose images use the sub-image.', {
        pointer: '/data/attributes/source_id',
      });
    }
    if (request.sourceId !== undefined && !this.sources.get(request.sourceId)) {
      throw new PictorError('UNKNOWN_SOURCE', `No Source has the id "${request.sourceId}".`, { pointer: '/data/attributes/source_id' });
    }
    const source = this.sources.forDomain(url.host);
    if (!source) {
      throw new PictorError('UNKNOWN_HOST', `The host "${url.host}" is not a domain of any Source; purge the URL your images are served from.`, {
        pointer: '/data/attributes/url',
      });
    }
    try {
      return { sourceId: source.record.id, path: canonicalPath(url.pathname) };
    } catch (error) {
      throw new PictorError('BAD_REQUEST', (error as Error).message, { pointer: '/data/attributes/url' });
    }
  }
}

/**
 * The query and fragment are ignored (a purge names the asset, which purges every derivative). WHATWG URL
 * parsing already turns a raw space into %20, as the purge contract asks.
 */
function parseUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new PictorError('BAD_REQUEST', `"url" must be an absolute http(s) URL, got "${raw}".`, { pointer: '/data/attributes/url' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new PictorError('BAD_REQUEST', `"url" must be an http or https URL, got "${raw}".`, { pointer: '/data/attributes/url' });
  }
  return url;
}

function newRecord(fields: Pick<PurgeRecord, 'url' | 'sourceId' | 'path' | 'match' | 'subImage' | 'parentSourceId' | 'requestedBy'>): PurgeRecord {
  return {
    ...fields,
    id: randomUUID(),
    status: 'pending',
    origin: undefined,
    matched: undefined,
    generation: undefined,
    error: undefined,
    createdAt: Date.now(),
    completedAt: undefined,
  };
}

/** A prefix purge covers a folder and everything below it: `/photos/2024` means `/photos/2024/`. */
function folderOf(path: string): string {
  return path.endsWith('/') ? path : `${path}/`;
}

function dedupeKey(record: PurgeRecord): string {
  return [record.match, record.sourceId, record.path, record.subImage ? 1 : 0, record.parentSourceId ?? ''].join('\n');
}
