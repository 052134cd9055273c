import type { PurgeRecord } from '../store/purge-log.ts';

export const NOTHING_THERE_WARNING =
  'Nothing was cached for this URL and the origin does not have it: check the path (a typo?). A purge of the right URL clears what is served.';

/**
 * A purge that cannot have been meant, said wherever the purge is reported (the status document, the
 * dashboard, `pictor purge --wait`): an exact purge that found nothing cached of a file the origin does not
 * have (a mistyped path looks like any other completed purge otherwise).
 */
export function purgeWarning(record: Pick<PurgeRecord, 'match' | 'status' | 'matched' | 'origin'>): string | undefined {
  if (record.match !== 'exact' || record.status !== 'completed') return undefined;
  return record.matched === 0 && record.origin === 'removed' ? NOTHING_THERE_WARNING : undefined;
}
