import type { AssetService } from '../assets/asset-service.ts';
import type { Renderer } from '../delivery/renderer.ts';
import { BackgroundJob } from '../purge/background-job.ts';
import type { SourceRegistry } from '../sources/registry.ts';
import type { Stores } from '../store/stores.ts';
import type { TakedownGate } from '../takedown/takedown-gate.ts';
import { startVideo, type Video } from '../video/index.ts';
import type { ReportedVideoState } from '../video/state-reporting.ts';
import type { VideoService } from '../video/video-service.ts';
import type { NodeContext } from './node.ts';

export interface NodeVideo {
  video: Video;
  /** Shows each video's processing state in the Asset Manager, once there is one. */
  showStatesIn(assets: AssetService): void;
}

/**
 * The Video API, and its timed recheck of processed videos. Each video's processing state is shown in the
 * Assets API (built later: states recorded before then are not shown); a stop waits for the states on their
 * way before closing the store.
 */
export async function startNodeVideo(node: NodeContext, stores: Stores, sources: SourceRegistry, renderer: Renderer, gate: TakedownGate): Promise<NodeVideo> {
  const { options, logger } = node;
  let assets: AssetService | undefined;
  const showing = new Set<Promise<void>>();
  const show = (sourceId: string, path: string, state: ReportedVideoState): void => {
    const shown = assets
      ?.setVideoStatus(sourceId, path, state)
      .catch((error: unknown) => logger.debug({ err: error }, 'a video state could not be shown in the Assets API'))
      .finally(() => showing.delete(shown!));
    if (shown) showing.add(shown);
  };
  const onError = (error: unknown, what: string): void => logger.warn({ err: error }, `video: failed ${what}`);
  const video = await startVideo(options, stores.videos, sources, renderer, onError, show, (content) => gate.checkContent(content));
  logger.info({ video: video.describe }, 'Video API');
  node.onStop('background', () => video.service.stop());
  startVideoRecheck(node, video.service);
  node.onStop('background', () => Promise.all(showing));
  return { video, showStatesIn: (service) => void (assets = service) };
}

/**
 * Timed removal: processed videos are revalidated at their origin at least every `--video-recheck-interval`;
 * removed there → every output deleted (404), changed → encoded again.
 */
function startVideoRecheck(node: NodeContext, video: VideoService): void {
  const { logger } = node;
  const intervalMs = node.options.videoRecheckIntervalSeconds * 1000;
  const recheck = new BackgroundJob(() => video.recheckOlderThan(intervalMs), {
    // Often enough that no video waits much past its interval, rarely enough to cost nothing.
    intervalMs: Math.max(1000, Math.min(intervalMs / 4, 60 * 60 * 1000)),
    onDone: (counts) => {
      if (counts.removed + counts.reprocessing > 0) logger.info(counts, 'videos rechecked at their origin');
    },
    onError: (error) => logger.warn({ err: error }, 'videos could not be rechecked; trying again later'),
  });
  recheck.start(false);
  node.onStop('background', () => recheck.stop());
}
