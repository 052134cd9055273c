import { isPictorError } from '../errors.ts';
import type { PurgeRecord } from '../store/purge-log.ts';
import { Pauses } from './pauses.ts';
import { Slots } from './slots.ts';

/** Origin verdicts asked at once; more wait their turn, so a burst of purges is not a burst at the origin. */
const CONCURRENCY = 32;

/** A question to the origin about one asset, compared with what was cached (cache/origin-cache.ts). */
export type AskOrigin = () => Promise<'removed' | 'replaced' | 'unchanged'>;

/** What a purge reports of its origin. */
export type Verdict = Pick<PurgeRecord, 'origin' | 'originError'>;

/**
 * The `origin` verdict of an exact purge: what the origin has now, compared with what was cached. It is
 * informational and never holds a purge back: the purge is in effect from its acknowledgement, and completes
 * whatever the origin says. An origin that fails is asked again after each of `retryDelaysMs`; if it still
 * fails the verdict is `unknown`, with the reason.
 */
export class VerdictStep {
  private readonly asking = new Slots(CONCURRENCY);
  private readonly pauses = new Pauses();
  private stopping = false;

  /**
   * @param asker the question to ask about a purge's asset, or undefined when there is nothing to ask (its
   *   Source is gone).
   */
  constructor(
    private readonly asker: (record: PurgeRecord) => Promise<AskOrigin | undefined>,
    private readonly retryDelaysMs: readonly number[],
  ) {}

  /** Never rejects. Only exact purges name one asset to ask about; the others have no verdict. */
  async verdict(record: PurgeRecord): Promise<Verdict> {
    if (record.match !== 'exact') return { origin: undefined };
    return this.asking.run(async () => {
      try {
        const ask = await this.asker(record);
        return ask ? await this.withRetries(ask) : { origin: undefined };
      } catch (error) {
        return unknown(error);
      }
    });
  }

  /** Ends the waits between tries (at stop): a verdict waiting to ask again asks one last time now. */
  stop(): void {
    this.stopping = true;
    this.pauses.wakeAll();
  }

  private async withRetries(ask: AskOrigin): Promise<Verdict> {
    for (let attempt = 0; ; attempt++) {
      try {
        return { origin: await ask() };
      } catch (error) {
        // The origin answered, but refuses the asset (a symlink now leaving the root, a file over the size
        // limit): what was cached no longer reflects it.
        if (isPictorError(error) && error.status < 500) return { origin: error.status === 403 ? 'removed' : 'replaced' };
        const delay = this.retryDelaysMs[attempt];
        if (delay === undefined || this.stopping) return unknown(error);
        await this.pauses.wait(delay);
      }
    }
  }
}

function unknown(error: unknown): Verdict {
  return { origin: 'unknown', originError: isPictorError(error) ? error.message : 'the origin could not be reached' };
}
