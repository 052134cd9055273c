import { hostname } from 'node:os';
import type { PictorOptions } from '../config/options.ts';
import type { Renderer } from '../delivery/renderer.ts';
import type { SourceRegistry } from '../sources/registry.ts';
import type { VideoStore } from '../store/video-store.ts';
import { checkVideoTools } from './ffmpeg.ts';
import { Limiter } from './queue.ts';
import { VideoDelivery } from './video-delivery.ts';
import { VideoFiles } from './video-files.ts';
import { DirectoryVideoStorage, type VideoStorage } from './video-storage.ts';
import { S3VideoStorage } from './s3-video-storage.ts';
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

type VideoSettings = Pick<
  PictorOptions,
  | 'dataDir' | 'ffmpegPath' | 'ffprobePath' | 'videoConcurrency' | 'videoMaxDurationSeconds' | 'nodeId' | 'nodeLeaseSeconds' | 'databaseUrl' | 'port'
  | 'videoStore' | 'videoStoreEndpoint' | 'videoStoreRegion' | 'videoStoreAccessKeyId' | 'videoStoreSecretAccessKey'
>;

export interface Video {
  service: VideoService;
  delivery: VideoDelivery;
  /** For the start-up report: the ffmpeg and ffprobe used, or why the Video API is off. */
  describe: string;
}

/** The Video API of one node: ffmpeg checked, the state store, the processing queue (resumed), the delivery. */
export async function startVideo(
  options: VideoSettings,
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
  const storage = videoStorage(options, files);
  const service = new VideoService(store, sources, files, storage, tools, {
    concurrency: options.videoConcurrency,
    queueLimit: QUEUE_LIMIT,
    maxDurationSeconds: options.videoMaxDurationSeconds,
    maxSide: MAX_VIDEO_SIDE,
    onError,
    checkContent,
    nodeId: claimNodeId(options),
    claimLeaseMs: options.nodeLeaseSeconds * 1000,
  });
  await service.start();
  const limiter = new Limiter(OUTPUT_CONCURRENCY, OUTPUT_QUEUE_LIMIT);
  const outputs = tools.ok ? new VideoOutputs(tools.tools, files, storage, limiter, service.signal) : undefined;
  return {
    service,
    delivery: new VideoDelivery(service, storage, outputs, renderer),
    describe: `${tools.ok ? tools.tools.describe : `off: ${tools.problem}`}; outputs in ${storage.describe}`,
  };
}

/** `--video-store`: a directory (by default the data directory's), or an S3-compatible bucket. */
function videoStorage(options: VideoSettings, files: VideoFiles): VideoStorage {
  const location = options.videoStore;
  if (location?.kind !== 's3') return new DirectoryVideoStorage(location?.path ?? files.defaultStore);
  return new S3VideoStorage({
    bucket: location.bucket,
    prefix: location.prefix,
    endpoint: options.videoStoreEndpoint,
    region: options.videoStoreRegion,
    accessKeyId: options.videoStoreAccessKeyId,
    secretAccessKey: options.videoStoreSecretAccessKey,
  });
}

/**
 * This process's name in encode claims: the node's name in a cluster; one name for a single node, whose data
 * directory only one server opens, so that after a restart it takes back at once what it was encoding.
 */
function claimNodeId(options: VideoSettings): string {
  if (options.nodeId !== undefined) return options.nodeId;
  return options.databaseUrl === undefined ? 'local' : `${hostname()}:${options.port}`;
}
