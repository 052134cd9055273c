import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { isPictorError, PictorError, type ErrorCode } from '../errors.ts';
import { contentIds, type ContentId, type Validators } from '../sources/origin.ts';
import type { ResolvedSource, SourceRegistry } from '../sources/registry.ts';
import type { VideoOrigin, VideoRecord, VideoStore } from '../store/video-store.ts';
import type { ToolsCheck, VideoTools } from './ffmpeg.ts';
import { describeLadder, ladderArgs, ladderFor, type LadderInfo } from './ladder.ts';
import { demuxerOfProbe, probeVideo, type VideoProbe } from './probe.ts';
import { JobQueue } from './queue.ts';
import { failureLine, runTool, ToolError } from './run.ts';
import type { VideoFiles } from './video-files.ts';

export interface VideoServiceOptions {
  /** Videos encoded at once (`--video-concurrency`). */
  concurrency: number;
  /** Videos waiting for their turn, past which a new one is answered 503. */
  queueLimit: number;
  maxDurationSeconds: number;
  /** Largest width and height accepted. */
  maxSide: number;
  /** A failure that is not the video's (the store, the disk): logged. */
  onError: (error: unknown, what: string) => void;
  /**
   * Throws TAKEN_DOWN (451) when this content (sources/origin.ts `ContentId`: origin object, SHA-256) is under
   * a takedown (takedown/takedown-gate.ts): whatever Source or path leads to a video, none of its outputs is
   * served while its content is taken down.
   */
  checkContent?: (content: readonly ContentId[]) => void;
  now?: () => number;
}

/** A processed video, ready to serve: its record, the directory of its version and its ladder. */
export interface ReadyVideo {
  record: VideoRecord;
  dir: string;
  ladder: LadderInfo;
}

/** What a refresh (or a recheck) found at the origin and did. */
export interface RefreshResult {
  /** `unchanged`: same bytes, nothing encoded again; `reprocessing`: new bytes, a new version is queued; `removed`: gone at the origin, every output deleted. */
  outcome: 'unchanged' | 'reprocessing' | 'removed' | 'error';
  record: VideoRecord | undefined;
}

/** How long a client waits before asking again for a video being processed. */
const RETRY_AFTER_SECONDS = 5;
/** An encode may take this many times the longest video it may read (at low priority, beside image renders), plus a minute. */
const ENCODE_TIMEOUT_PER_SECOND_MS = 20_000;
/**
 * The duration limit holds on the decoded stream, not the header: the encode reads at most this much past the
 * limit, and a video whose encode is longer than the limit by more than DECODED_TOLERANCE_SECONDS went on
 * past it. (The tolerance absorbs the last frame's length and rounding; it is below the margin, so a video
 * that went on is always caught.)
 */
const DECODED_MARGIN_SECONDS = 1;
const DECODED_TOLERANCE_SECONDS = 0.5;
const RECHECK_BATCH = 100;

/**
 * The Video API's state machine. A video is encoded once: the first request fetches it, reads it with
 * ffprobe (limits and corrupt files are answered at once), records it as `processing` at a new version and
 * queues the encode; the encode writes a whole version directory and renames it into place, then flips the
 * record to `processed`. Outputs are served only from the record's current version, so a new version (a
 * refresh with new bytes) hides the old outputs at once. After kill -9, `processing` records are queued
 * again at start (a new version; whatever the killed encode wrote is in tmp/, which is emptied).
 *
 * For the Assets API and the removal sweep: `state`, `refresh` (revalidate, reprocess only new bytes),
 * `remove` (every output) and `recheckOlderThan`.
 */
export class VideoService {
  private readonly queue: JobQueue;
  /** First requests for a video being fetched and probed now: others wait for the same answer. */
  private readonly admitting = new Map<string, Promise<VideoRecord | undefined>>();
  private readonly stopping = new AbortController();
  private readonly now: () => number;
  private startedAt = 0;

  constructor(
    private readonly store: VideoStore,
    private readonly sources: SourceRegistry,
    private readonly files: VideoFiles,
    readonly tools: ToolsCheck,
    private readonly options: VideoServiceOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.queue = new JobQueue(options.concurrency, options.queueLimit, (error, key) => options.onError(error, `processing ${key}`));
  }

  /** Videos queued or encoding. */
  get depth(): number {
    return this.queue.depth;
  }

  /** Empties tmp/ and queues again every video a previous run left `processing` (in the background). */
  async start(): Promise<void> {
    this.startedAt = this.now();
    try {
      await this.files.init();
    } catch (error) {
      // A data directory that cannot be written (full, read-only) must not stop images: videos fail per request.
      this.options.onError(error, `preparing ${this.files.root}`);
    }
    if (this.tools.ok) void this.resume().catch((error: unknown) => this.options.onError(error, 'resuming interrupted processing'));
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.queue.stop();
    await Promise.allSettled(this.admitting.values());
  }

  /** The stop signal: outputs made on request end with it too. */
  get signal(): AbortSignal {
    return this.stopping.signal;
  }

  /**
   * The video ready to serve, or why not: 423 while it is processed (its first request starts that), 404 when
   * the origin has no such file, 413/422 for a video over a limit or unreadable, 501 without ffmpeg.
   */
  async ready(source: ResolvedSource, assetPath: string): Promise<ReadyVideo> {
    const tools = this.requireTools();
    const key = keyOf(source.record.id, assetPath);
    let record = await this.store.get(source.record.id, assetPath);
    if (!record) record = await this.admitOnce(key, () => this.admit(source, assetPath, tools));
    if (!record) throw new PictorError('ASSET_NOT_FOUND', 'Asset not found.');
    // In every state: a copy first asked for after the takedown is processed once, and served only after the lift.
    this.options.checkContent?.(contentIds(record.origin.object, record.origin.sha256));
    if (record.state === 'processed') record = await this.recheckContainer(record);
    if (record.state === 'error') throw new PictorError(errorCode(record.errorCode), record.reason ?? 'The video could not be processed.');
    if (record.state === 'processing') {
      // Left by a run that ended before finishing it (and not resumed yet): queue it again.
      if (!this.queue.has(key) && !this.admitting.has(key) && record.updatedAt < this.startedAt) this.readmit(source, assetPath, tools);
      throw processing();
    }
    const dir = this.files.versionDir(source.record.id, assetPath, record.version);
    const ladder = await this.ladder(dir);
    if (!ladder) {
      // Processed, but its files are not on this node's disk (deleted, or another node of a cluster encoded
      // it): encode the same version here; the record, shared with the other nodes, is left as it is.
      if (!this.queue.has(key) && !this.admitting.has(key)) {
        void this.admitOnce(key, () => this.encodeHere(source, record, tools)).catch((error: unknown) => this.options.onError(error, `processing ${key} on this node`));
      }
      throw processing();
    }
    return { record, dir, ladder };
  }

  /** The stored state of a video, or undefined when it was never requested. */
  state(sourceId: string, assetPath: string): Promise<VideoRecord | undefined> {
    return this.store.get(sourceId, assetPath);
  }

  /**
   * Revalidates a known video at its origin: gone → every output deleted (`removed`); the same bytes (even
   * if touched) → nothing encoded again (`unchanged`); new bytes → a new version queued, and from now on the
   * old outputs are never served (`reprocessing`). Undefined for a video never requested.
   */
  async refresh(sourceId: string, assetPath: string): Promise<RefreshResult | undefined> {
    const previous = await this.store.get(sourceId, assetPath);
    if (!previous) return undefined;
    const source = this.sources.get(sourceId);
    if (!source) {
      await this.remove(sourceId, assetPath);
      return { outcome: 'removed', record: undefined };
    }
    return this.revalidate(source, assetPath, previous);
  }

  /** Deletes a video's record and every output it has; false when it had none. */
  async remove(sourceId: string, assetPath: string): Promise<boolean> {
    this.queue.cancel(keyOf(sourceId, assetPath));
    const removed = await this.store.remove(sourceId, assetPath);
    await this.files.removeVersions(sourceId, assetPath);
    return removed;
  }

  /** Refreshes every video whose origin was last asked more than `ms` ago (the removal sweep). */
  async recheckOlderThan(ms: number): Promise<Record<RefreshResult['outcome'], number>> {
    const counts = { unchanged: 0, reprocessing: 0, removed: 0, error: 0 };
    const before = this.now() - ms;
    for (let batch = await this.store.listCheckedBefore(before, RECHECK_BATCH); batch.length > 0; batch = await this.store.listCheckedBefore(before, RECHECK_BATCH)) {
      for (const record of batch) {
        if (this.stopping.signal.aborted) return counts;
        let result: RefreshResult | undefined;
        try {
          result = await this.refresh(record.sourceId, record.path);
        } catch (error) {
          // The origin could not be asked: try again at the next sweep, after the others.
          this.options.onError(error, `rechecking ${keyOf(record.sourceId, record.path)}`);
          await this.store.markChecked(record.sourceId, record.path, record.origin, this.now());
          continue;
        }
        if (result) counts[result.outcome]++;
      }
    }
    return counts;
  }

  private requireTools(): VideoTools {
    if (!this.tools.ok) throw new PictorError('VIDEO_UNAVAILABLE', `The Video API is off on this server: ${this.tools.problem}`);
    return this.tools.tools;
  }

  /**
   * A processed video whose container is not one inputs are restricted to now (media-input.ts): processed by
   * an earlier version that read playlists, its outputs may show another file. They are deleted, and the
   * video is answered as it would be now (422, in the error state).
   */
  private async recheckContainer(record: VideoRecord): Promise<VideoRecord> {
    try {
      demuxerOfProbe(record.probe as VideoProbe);
      return record;
    } catch (error) {
      if (!isPictorError(error)) throw error;
      await this.files.removeVersions(record.sourceId, record.path);
      await this.store.markError(record.sourceId, record.path, record.version, { code: error.code, reason: error.message }, this.now());
      return { ...record, state: 'error', errorCode: error.code, reason: error.message };
    }
  }

  private async resume(): Promise<void> {
    const tools = this.requireTools();
    for (const record of await this.store.listByState('processing', this.options.queueLimit)) {
      const source = this.sources.get(record.sourceId);
      if (!source) {
        await this.store.markError(record.sourceId, record.path, record.version, { code: 'ASSET_NOT_FOUND', reason: 'Its Source no longer exists.' }, this.now());
        continue;
      }
      await this.admitOnce(keyOf(record.sourceId, record.path), () => this.admit(source, record.path, tools));
    }
  }

  private readmit(source: ResolvedSource, assetPath: string, tools: VideoTools): void {
    void this.admitOnce(keyOf(source.record.id, assetPath), () => this.admit(source, assetPath, tools)).catch((error: unknown) =>
      this.options.onError(error, `processing ${keyOf(source.record.id, assetPath)} again`),
    );
  }

  private admitOnce(key: string, admit: () => Promise<VideoRecord | undefined>): Promise<VideoRecord | undefined> {
    let pending = this.admitting.get(key);
    if (!pending) {
      pending = admit().finally(() => this.admitting.delete(key));
      this.admitting.set(key, pending);
    }
    return pending;
  }

  /** Asks the origin whether `previous`'s bytes are still there (conditionally), and acts on the answer. */
  private async revalidate(source: ResolvedSource, assetPath: string, previous: VideoRecord): Promise<RefreshResult> {
    const { id } = source.record;
    const fetched = await source.origin.fetch(assetPath, validatorsOf(previous.origin));
    if (fetched.kind === 'missing') {
      await this.remove(id, assetPath);
      return { outcome: 'removed', record: undefined };
    }
    const now = this.now();
    if (fetched.kind === 'not-modified') {
      await this.store.markChecked(id, assetPath, { ...previous.origin, ...originValidators(fetched.validators), object: fetched.object }, now);
      return { outcome: 'unchanged', record: await this.store.get(id, assetPath) };
    }
    const origin = { ...originValidators(fetched.validators), size: fetched.body.length, sha256: sha256(fetched.body), object: fetched.object };
    if (origin.sha256 === previous.origin.sha256 && previous.state !== 'processing') {
      await this.store.markChecked(id, assetPath, origin, now);
      return { outcome: 'unchanged', record: await this.store.get(id, assetPath) };
    }
    const tools = this.requireTools();
    const record = await this.admitOnce(keyOf(id, assetPath), () => this.startProcessing(source, assetPath, fetched.body, origin, tools));
    return { outcome: record?.state === 'error' ? 'error' : 'reprocessing', record };
  }

  /** Fetches a video from its origin and starts processing it; undefined when the origin has no such file. */
  private async admit(source: ResolvedSource, assetPath: string, tools: VideoTools): Promise<VideoRecord | undefined> {
    const fetched = await source.origin.fetch(assetPath);
    if (fetched.kind !== 'found') return undefined;
    const origin = { ...originValidators(fetched.validators), size: fetched.body.length, sha256: sha256(fetched.body), object: fetched.object };
    return this.startProcessing(source, assetPath, fetched.body, origin, tools);
  }

  /** Encodes a processed version again for this node's disk, if the origin still has its bytes (else revalidates). */
  private async encodeHere(source: ResolvedSource, record: VideoRecord, tools: VideoTools): Promise<VideoRecord | undefined> {
    const fetched = await source.origin.fetch(record.path);
    if (fetched.kind !== 'found' || sha256(fetched.body) !== record.origin.sha256) return (await this.revalidate(source, record.path, record)).record;
    const input = this.files.tempPath(path.extname(record.path));
    await fs.writeFile(input, fetched.body);
    if (!this.queue.enqueue(keyOf(record.sourceId, record.path), (signal) => this.encode(record, input, record.probe as VideoProbe, tools, signal))) {
      await this.files.remove(input);
      throw new PictorError('VIDEO_QUEUE_FULL', 'Too many videos are waiting to be processed; try again later.', { headers: { 'retry-after': '60' } });
    }
    return record;
  }

  /**
   * Probes the bytes (an unreadable file or one over a limit ends in the error state at once), records a new
   * version in `processing`, deletes the older versions' outputs and queues the encode.
   */
  private async startProcessing(source: ResolvedSource, assetPath: string, body: Buffer, origin: VideoOrigin, tools: VideoTools): Promise<VideoRecord> {
    const { id } = source.record;
    const key = keyOf(id, assetPath);
    if (!this.queue.has(key) && this.queue.depth >= this.options.queueLimit + this.options.concurrency) {
      throw new PictorError('VIDEO_QUEUE_FULL', 'Too many videos are waiting to be processed; try again later.', { headers: { 'retry-after': '60' } });
    }
    const input = this.files.tempPath(path.extname(assetPath));
    await fs.writeFile(input, body);
    let probe: VideoProbe;
    try {
      probe = await probeVideo(tools.ffprobe, input, { maxDurationSeconds: this.options.maxDurationSeconds, maxSide: this.options.maxSide }, this.stopping.signal);
    } catch (error) {
      await this.files.remove(input);
      if (!isPictorError(error)) throw error;
      const record = await this.store.startVersion(id, assetPath, origin, null, this.now());
      await this.store.markError(id, assetPath, record.version, { code: error.code, reason: error.message }, this.now());
      await this.files.removeVersions(id, assetPath);
      return { ...record, state: 'error', errorCode: error.code, reason: error.message };
    }
    const record = await this.store.startVersion(id, assetPath, origin, probe, this.now());
    await this.files.removeVersions(id, assetPath, record.version);
    const queued = this.queue.enqueue(key, (signal) => this.encode(record, input, probe, tools, signal));
    if (!queued) {
      await this.files.remove(input);
      throw new PictorError('VIDEO_QUEUE_FULL', 'Too many videos are waiting to be processed; try again later.', { headers: { 'retry-after': '60' } });
    }
    return record;
  }

  /** One ffmpeg pass for the whole ladder into tmp/, renamed into place, then the record flips to processed. */
  private async encode(record: VideoRecord, input: string, probe: VideoProbe, tools: VideoTools, signal: AbortSignal): Promise<void> {
    const { sourceId, path: assetPath, version } = record;
    const temp = this.files.tempPath();
    const aborted = AbortSignal.any([signal, this.stopping.signal]);
    try {
      const ladder = await this.encodeLadder(input, temp, probe, tools, aborted);
      await fs.writeFile(path.join(temp, 'ladder.json'), JSON.stringify(ladder));
      if (aborted.aborted) return;
      const dir = this.files.versionDir(sourceId, assetPath, version);
      await this.files.publishDir(temp, dir);
      // Superseded or removed meanwhile: this version is nobody's. (Already processed: encoded again for this node.)
      if (!(await this.store.markProcessed(sourceId, assetPath, version, this.now()))) {
        const current = await this.store.get(sourceId, assetPath);
        if (current?.version !== version || current.state !== 'processed') await this.files.remove(dir);
      }
    } catch (error) {
      // Aborted: a newer version replaced this one, or the server is stopping (the record stays `processing`
      // and is queued again at the next start). Neither is the video's fault.
      if (aborted.aborted) return;
      const failure = videoFailure(error, input);
      if (failure === undefined) this.options.onError(error, `encoding ${keyOf(sourceId, assetPath)}`);
      const state = failure ?? { code: 'UNSUPPORTED_VIDEO', reason: 'The video could not be encoded.' };
      await this.store.markError(sourceId, assetPath, version, state, this.now());
    } finally {
      // Whatever was encoded of a video refused here (past the duration limit, say) goes with the directory.
      await this.files.remove(temp);
      await this.files.remove(input);
    }
  }

  /**
   * Encodes the ladder into `temp` and measures it. The input is read with the demuxer its probe found, and
   * no further than the duration limit (plus a margin): a video that went on past it is VIDEO_TOO_LARGE.
   */
  private async encodeLadder(input: string, temp: string, probe: VideoProbe, tools: VideoTools, signal: AbortSignal): Promise<LadderInfo> {
    const limit = this.options.maxDurationSeconds;
    const rungs = ladderFor(probe);
    await Promise.all(rungs.map((rung) => fs.mkdir(path.join(temp, rung.name), { recursive: true })));
    const readSeconds = limit + DECODED_MARGIN_SECONDS;
    const args = ladderArgs({ file: input, demuxer: demuxerOfProbe(probe) }, temp, rungs, probe.hasAudio, readSeconds);
    await runTool(tools.ffmpeg, args, { timeoutMs: 60_000 + readSeconds * ENCODE_TIMEOUT_PER_SECOND_MS, background: true, signal });
    const { ladder, encodedSeconds } = await describeLadder(temp, rungs, probe.hasAudio, probe.durationSeconds);
    if (encodedSeconds > limit + DECODED_TOLERANCE_SECONDS) {
      const reason = `The video lasts more than ${limit} s once decoded (its header says ${Math.round(probe.durationSeconds)} s)`;
      throw new PictorError('VIDEO_TOO_LARGE', `${reason}, over the limit of ${limit} s (--video-max-duration).`);
    }
    return ladder;
  }

  /** The ladder of a version on this node's disk, or undefined when its directory is not (or no longer) there. */
  private async ladder(dir: string): Promise<LadderInfo | undefined> {
    try {
      return JSON.parse(await fs.readFile(path.join(dir, 'ladder.json'), 'utf8')) as LadderInfo;
    } catch {
      return undefined;
    }
  }
}

/** The answer while a video is queued or encoding: 423 with Retry-After (imgix answers 423 too). */
export function processing(): PictorError {
  return new PictorError('VIDEO_PROCESSING', 'This video is being processed; try again in a few seconds.', { headers: { 'retry-after': String(RETRY_AFTER_SECONDS) } });
}

function keyOf(sourceId: string, assetPath: string): string {
  return `${sourceId}${assetPath}`;
}

/** The error state of a video whose encode failed for a reason of its own; undefined for any other failure. */
function videoFailure(error: unknown, input: string): { code: ErrorCode; reason: string } | undefined {
  if (isPictorError(error)) return { code: error.code, reason: error.message };
  if (!(error instanceof ToolError)) return undefined;
  return { code: 'UNSUPPORTED_VIDEO', reason: `ffmpeg could not encode the video: ${failureLine(error.stderrTail, input) || error.message}` };
}

function errorCode(code: string | null): ErrorCode {
  return code === 'VIDEO_TOO_LARGE' || code === 'ASSET_NOT_FOUND' || code === 'INPUT_TOO_LARGE' ? code : 'UNSUPPORTED_VIDEO';
}

function validatorsOf(origin: VideoOrigin): Validators {
  const validators: Validators = {};
  if (origin.etag !== null) validators.etag = origin.etag;
  if (origin.lastModified !== null) validators.lastModified = origin.lastModified;
  return validators;
}

function originValidators(validators: Validators): Pick<VideoOrigin, 'etag' | 'lastModified'> {
  return { etag: validators.etag ?? null, lastModified: validators.lastModified ?? null };
}

function sha256(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}
