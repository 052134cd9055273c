import type { VideoStore } from '../store/video-store.ts';

/** A video's processing state as the Assets API shows it; null once it has no outputs. */
export type ReportedVideoState = 'processing' | 'processed' | 'error' | null;

/**
 * The video store, telling `report` of every state it records, so that the Assets API shows a video's
 * processing state without the Video API knowing about assets. Reporting never fails a write.
 */
export function reportingStates(store: VideoStore, report: (sourceId: string, path: string, state: ReportedVideoState) => void): VideoStore {
  return Object.assign(Object.create(store) as VideoStore, {
    async startVersion(...args: Parameters<VideoStore['startVersion']>) {
      const record = await store.startVersion(...args);
      report(args[0], args[1], 'processing');
      return record;
    },
    async startVersionAfter(...args: Parameters<VideoStore['startVersionAfter']>) {
      const record = await store.startVersionAfter(...args);
      if (record) report(args[0], args[1], 'processing');
      return record;
    },
    async markProcessed(...args: Parameters<VideoStore['markProcessed']>) {
      const changed = await store.markProcessed(...args);
      if (changed) report(args[0], args[1], 'processed');
      return changed;
    },
    async markError(...args: Parameters<VideoStore['markError']>) {
      const changed = await store.markError(...args);
      if (changed) report(args[0], args[1], 'error');
      return changed;
    },
    async remove(...args: Parameters<VideoStore['remove']>) {
      const removed = await store.remove(...args);
      if (removed) report(args[0], args[1], null);
      return removed;
    },
  } satisfies Partial<VideoStore>);
}
