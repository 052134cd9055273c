import { isVideoPath } from './video-params.ts';
import type { PurgeRecord } from '../store/purge-log.ts';

export interface VideoPurgeNotice {
  message: string;
  /** The Assets API's refresh endpoint of the video (admin listener). */
  refresh: string;
}

/**
 * What a purge of a video does not do, said wherever the purge is reported (the API's 200, the status
 * document, the dashboard), so that nobody acting on a legal notice believes the video is gone: as at imgix,
 * a purge clears what the Rendering API cached (the file as passed through), not the Video API's outputs.
 */
export function videoPurgeNotice(record: Pick<PurgeRecord, 'match' | 'sourceId' | 'path'>): VideoPurgeNotice | undefined {
  if (record.match !== 'exact' || !isVideoPath(record.path)) return undefined;
  const refresh = `/api/v1/sources/${record.sourceId}/assets/refresh${record.path.split('/').map(encodeURIComponent).join('/')}`;
  return {
    message:
      'This purge cleared what the Rendering API cached for this video (the file itself), not its Video API outputs (HLS playlists and segments, MP4 renditions, thumbnails, GIFs, storyboards), which stay until the video changes at its origin. To reprocess it now, or delete its outputs if the origin no longer has it, refresh the asset; to block it at once whatever the origin has, take it down.',
    refresh,
  };
}
