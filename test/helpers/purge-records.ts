import { randomUUID } from 'node:crypto';
import type { PurgeRecord } from '../../src/store/purge-log.ts';

/** A pending exact purge of `pathName` on `sourceId`, as the purge log stores one; `fields` override any part. */
export function pendingPurge(sourceId: string, pathName: string, fields: Partial<PurgeRecord> = {}): PurgeRecord {
  return {
    id: randomUUID(),
    url: `https://img.example${pathName}`,
    sourceId,
    path: pathName,
    match: 'exact',
    subImage: false,
    parentSourceId: undefined,
    status: 'pending',
    origin: undefined,
    matched: undefined,
    generation: undefined,
    error: undefined,
    requestedBy: 'key:test',
    createdAt: Date.now(),
    completedAt: undefined,
    ...fields,
  };
}
