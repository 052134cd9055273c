import { createHash, randomUUID } from 'node:crypto';
import { isPictorError, PictorError } from '../errors.ts';
import { MAX_PURGE_URL_LENGTH, resolveAssetUrl } from '../purge/purge-request.ts';
import type { Purges } from '../purge/purges.ts';
import type { SourceRegistry } from '../sources/registry.ts';
import type { NewTakedown, TakedownAuditEntry, TakedownRecord, TakedownStore } from '../store/takedown-store.ts';
import type { TakedownGate } from './takedown-gate.ts';
import { storeFaultReason } from '../store/store-errors.ts';
import type { Outbox } from '../store/webhook-store.ts';

/** Reasons are kept forever in the audit trail, so their size is bounded. */
export const MAX_TAKEDOWN_REASON_LENGTH = 2000;

/**
 * Told of every new takedown after its purge: what a purge does not reach is handled here (the Video API's
 * outputs removed, the edges' copies of its content purged).
 */
export type TakedownHook = (takedown: TakedownRecord) => void | Promise<void>;

export interface TakedownRequest {
  url: string;
  reason: string;
  /** Who asks: `key:<id> (<name>)` for an API key, `user:admin` for the dashboard. */
  actor: string;
}

/**
 * The one owner of takedowns, for the API and the dashboard alike. A takedown reads the URL's file through
 * its Source's origin (its object and SHA-256: the content, see takedown-gate.ts), is recorded durably (with
 * its audit entry), then blocks the asset and its content on this node's 451 gate, then purges every cache
 * tier through `Purges`, then runs the hooks — in that order, so nothing fetched after the purge can be
 * cached or served before the gate closes.
 */
export class Takedowns {
  /** Run after each new takedown's purge; a hook that fails is reported to `onHookError` and does not undo anything. */
  readonly onTakedown: TakedownHook[] = [];

  constructor(
    private readonly store: TakedownStore,
    private readonly sources: SourceRegistry,
    private readonly purges: Purges,
    private readonly gate: TakedownGate,
    private readonly onError: (error: unknown, during: string) => void,
    /** The events a takedown's creation and lift report, written with them (store/webhook-store.ts). */
    private readonly outbox: { created?: Outbox<TakedownRecord>; lifted?: Outbox<TakedownRecord> } = {},
  ) {}

  /**
   * Takes an asset down; `created: false` when this finished an earlier takedown of the same asset whose
   * purge was never recorded. An asset already taken down (and purged) is a CONFLICT naming that takedown.
   */
  async create(request: TakedownRequest): Promise<{ record: TakedownRecord; created: boolean }> {
    const { url, reason, sourceId, path } = this.validate(request);
    const content = await this.inspect(sourceId, path);
    const takedown = { id: randomUUID(), url, sourceId, path, ...content, reason, createdBy: request.actor, createdAt: Date.now() };
    const { record, created } = await this.store.create(takedown, this.outbox.created);
    if (!created && record.purgeId !== null) {
      throw new PictorError(
        'CONFLICT',
        `This asset is already taken down (takedown ${record.id}, since ${new Date(record.createdAt).toISOString()}); lift that one before taking it down again.`,
        { pointer: '/data/attributes/url' },
      );
    }
    this.gate.block(record);
    await this.gate.reload().catch((error: unknown) => this.onError(error, 'reloading the takedowns'));
    const purge = await this.purge(record, url, request.actor);
    const done = { ...record, purgeId: purge.id };
    for (const hook of this.onTakedown) {
      try {
        await hook(done);
      } catch (error) {
        this.onError(error, 'removing what a purge does not reach');
      }
    }
    return { record: done, created };
  }

  /**
   * The content the URL names now, read through its Source's origin: the object it resolves to and the
   * SHA-256 of its bytes. A takedown goes ahead whatever the origin says; what could not be recorded is
   * said in `originNote` (the object alone is named when the origin can tell it without the file).
   */
  private async inspect(sourceId: string, path: string): Promise<Pick<NewTakedown, 'originObject' | 'sha256' | 'originNote'>> {
    const origin = this.sources.get(sourceId)?.origin;
    if (!origin) return { originObject: null, sha256: null, originNote: 'The Source could not be read when the takedown was created.' };
    let problem: string;
    try {
      const fetched = await origin.fetch(path);
      if (fetched.kind === 'found') {
        return { originObject: fetched.object, sha256: createHash('sha256').update(fetched.body).digest('hex'), originNote: null };
      }
      problem = 'The origin had no such file when the takedown was created';
    } catch (error) {
      const why = isPictorError(error) ? error.message.replace(/\.$/, '') : 'it failed';
      problem = `The origin could not be read when the takedown was created (${why})`;
    }
    const object = await origin.objectFor?.(path).catch(() => undefined);
    const blocked = object === undefined ? 'only this URL\'s Source and path are blocked' : 'this path and the origin object it names are blocked';
    return { originObject: object ?? null, sha256: null, originNote: `${problem}: ${blocked}, not copies of its bytes elsewhere.` };
  }

  /**
   * Purges the asset of a recorded takedown and records that purge. A store that cannot write is STORE_UNAVAILABLE
   * saying so, not "nothing was recorded": the takedown is, and it is in effect; repeating the request finishes it.
   */
  private async purge(record: TakedownRecord, url: string, actor: string): Promise<{ id: string }> {
    try {
      const { record: purge } = await this.purges.purge({ url, requestedBy: `${actor} (takedown)` });
      await this.store.setPurge(record.id, purge.id);
      return purge;
    } catch (error) {
      const reason = storeFaultReason(error instanceof PictorError ? error.cause : error);
      if (reason === undefined) throw error;
      throw new PictorError(
        'STORE_UNAVAILABLE',
        `Takedown ${record.id} is recorded and in effect (the asset is answered 451), but Pictor cannot write its purge to its store (${reason}). ` +
          'Send the same request again shortly to finish it.',
        { headers: { 'retry-after': '5' }, cause: error },
      );
    }
  }

  /**
   * Checks a request without recording anything (the dashboard's confirmation step): the URL resolved to a
   * Source and canonical path exactly as a purge resolves it, the reason present and bounded. Throws a
   * BAD_REQUEST or UNKNOWN_HOST whose pointer names the attribute.
   */
  validate(request: Pick<TakedownRequest, 'url' | 'reason'>): { url: string; reason: string; sourceId: string; path: string } {
    const url = request.url.trim();
    if (url === '') throw new PictorError('BAD_REQUEST', '"url" is required: the full URL of the asset to take down.', { pointer: '/data/attributes/url' });
    if (url.length > MAX_PURGE_URL_LENGTH) {
      throw new PictorError('BAD_REQUEST', `"url" may have at most ${MAX_PURGE_URL_LENGTH} characters, and this one has ${url.length}.`, {
        pointer: '/data/attributes/url',
      });
    }
    const reason = checkReason(request.reason, true)!;
    return { url, reason, ...resolveAssetUrl(this.sources, url, 'take down') };
  }

  /** Lifts a takedown: the asset is served again (fetched anew: its caches were purged); `lifted: false` if it was lifted already. */
  async lift(id: string, lift: { actor: string; reason?: string | undefined }): Promise<{ record: TakedownRecord; lifted: boolean }> {
    const reason = checkReason(lift.reason, false) ?? null;
    const result = await this.store.lift(id, { actor: lift.actor, reason, at: Date.now() }, this.outbox.lifted);
    if (!result) throw notFound(id);
    await this.gate.reload();
    return result;
  }

  async get(id: string): Promise<{ record: TakedownRecord; audit: TakedownAuditEntry[] }> {
    const record = await this.store.get(id);
    if (!record) throw notFound(id);
    return { record, audit: await this.store.audit(id) };
  }

  list(query: { activeOnly?: boolean; offset: number; limit: number }): Promise<{ records: TakedownRecord[]; total: number }> {
    return this.store.list(query);
  }
}

function checkReason(value: string | undefined, required: boolean): string | undefined {
  const reason = value?.trim() ?? '';
  if (reason === '') {
    if (!required) return undefined;
    throw new PictorError('BAD_REQUEST', '"reason" is required: why the asset is taken down (a notice, a ticket), for the audit trail.', {
      pointer: '/data/attributes/reason',
    });
  }
  if (reason.length > MAX_TAKEDOWN_REASON_LENGTH) {
    throw new PictorError('BAD_REQUEST', `"reason" may have at most ${MAX_TAKEDOWN_REASON_LENGTH} characters, and this one has ${reason.length}.`, {
      pointer: '/data/attributes/reason',
    });
  }
  return reason;
}

function notFound(id: string): PictorError {
  return new PictorError('NOT_FOUND', `No takedown has the id "${id}".`);
}
