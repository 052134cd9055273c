import type { PictorOptions } from '../config/options.ts';
import type { Renderer } from '../delivery/renderer.ts';
import type { SourceRegistry } from '../sources/registry.ts';
import type { VideoStore } from '../store/video-store.ts';
import { checkVideoTools } from './ffmpeg.ts';
import { Limiter } from './queue.ts';
import { VideoDelivery } from './video-delivery.ts';
import { VideoFiles } from './video-files.ts';
import { VideoOutputs } from './video-outputs.ts';
import { reportingStates, type ReportedVideoState } from './state-reporting.ts';
import { VideoService, type VideoServiceOptions } from './video-service.ts';

/** Largest width and height of a video accepted for processing. */
const MAX_VIDEO_SIDE = 4096;
/** Videos waiting for an encode, past which a new one is answered 503. */
const QUEUE_LIMIT = 256;
/** Outputs made while a request waits (remux, frame, GIF, storyboard): one at a time, a few waiting. */
const OUTPUT_CONCURRENCY = 1;
const OUTPUT_QUEUE_LIMIT = 16;

export interface Video {
  service: VideoService;
  delivery: VideoDelivery;
  /** For the start-up report: the ffmpeg and ffprobe used, or why the Video API is off. */
  describe: string;
}

/** The Video API of one node: ffmpeg checked, the state store, the processing queue (resumed), the delivery. */
export async function startVideo(
  options: Pick<PictorOptions, 'dataDir' | 'ffmpegPath' | 'ffprobePath' | 'videoConcurrency' | 'videoMaxDurationSeconds'>,
  videos: VideoStore,
  sources: SourceRegistry,
  renderer: Renderer,
  onError: (error: unknown, what: string) => void,
  onState: (sourceId: string, path: string, state: ReportedVideoState) => void = () => {},
  checkContent?: VideoServiceOptions['checkContent'],
): Promise<Video> {
  const tools = await checkVideoTools({ ffmpeg: options.ffmpegPath, ffprobe: options.ffprobePath });
  const store = reportingStates(videos, onState);
  const files = new VideoFiles(options.dataDir);
  const service = new VideoService(store, sources, files, tools, {
    concurrency: options.videoConcurrency,
    queueLimit: QUEUE_LIMIT,
    maxDurationSeconds: options.videoMaxDurationSeconds,
    maxSide: MAX_VIDEO_SIDE,
    onError,
    checkContent,
  });
  await service.start();
  const outputs = tools.ok ? new VideoOutputs(tools.tools, files, new Limiter(OUTPUT_CONCURRENCY, OUTPUT_QUEUE_LIMIT), service.signal) : undefined;
  return {
    service,
    delivery: new VideoDelivery(service, outputs, renderer),
    describe: tools.ok ? tools.tools.describe : `off: ${tools.problem}`,
  };
}
