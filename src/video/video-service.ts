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
import { filesUnder, type VideoFiles } from './video-files.ts';
import { readAll, type VideoStorage } from './video-storage.ts';

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
  /** This process's name in encode claims (store/video-store.ts `claimEncode`). */
  nodeId: string;
  /** How long a claim lasts without renewal: a crashed encoder's video is taken over after it. */
  claimLeaseMs: number;
  now?: () => number;
}

/** A processed video, ready to serve: its record, the key prefix of its version in the video store, and its ladder. */
export interface ReadyVideo {
  record: VideoRecord;
  prefix: string;
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
 * The Video API's state machine, shared by every node of a cluster through the video store (states) and
 * the video storage (outputs). A video is encoded once per cluster: the first request fetches it, reads it
 * with ffprobe (limits and corrupt files are answered at once) and starts a new version in `processing` —
 * a compare-and-set, so of nodes asked at once exactly one starts it — then claims its encode with a lease
 * and renews it while encoding. The encode writes the whole ladder on this node's disk, stores every file,
 * and only then flips the record to `processed`: a node that reads `processed` finds every output stored,
 * so a master playlist answered 200 anywhere is followed by variants and segments answered 200 everywhere.
 * A node asked for a video in `processing` whose claim expired (its encoder crashed, or this node is back
 * after kill -9) takes the claim over and encodes it; at start, each node does so for what it finds.
 *
 * For the Assets API and the removal sweep: `state`, `refresh` (revalidate, reprocess only new bytes),
 * `remove` (every output, once for the whole cluster) and `recheckOlderThan`.
 */
export class VideoService {
  private readonly queue: JobQueue;
  /** First requests for a video being fetched and probed now: others wait for the same answer. */
  private readonly admitting = new Map<string, Promise<VideoRecord | undefined>>();
  /** Claim renewals of the videos this node encodes or has queued, by video. */
  private readonly renewals = new Map<string, NodeJS.Timeout>();
  private readonly stopping = new AbortController();
  private readonly now: () => number;

  constructor(
    private readonly store: VideoStore,
    private readonly sources: SourceRegistry,
    private readonly files: VideoFiles,
    private readonly storage: VideoStorage,
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

  /** Empties tmp/ and takes over every video left `processing` whose claim is free (in the background). */
  async start(): Promise<void> {
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
    for (const timer of this.renewals.values()) clearInterval(timer);
    this.renewals.clear();
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
      this.takeOver(source, record, tools);
      throw processing();
    }
    const prefix = this.files.versionKey(source.record.id, assetPath, record.version);
    const ladder = await this.ladder(prefix);
    if (!ladder) {
      // Processed, but its outputs are gone from the video store: encoded again, once, as a new version.
      if (!this.queue.has(key) && !this.admitting.has(key)) {
        const lost = record;
        const again = this.admitOnce(key, () => this.admit(source, assetPath, tools, lost.version));
        void again.catch((error: unknown) => this.options.onError(error, `processing ${key} again`));
      }
      throw processing();
    }
    return { record, prefix, ladder };
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

  /** Deletes a video's record and every output it has in the video store; false when it had none. */
  async remove(sourceId: string, assetPath: string): Promise<boolean> {
    this.queue.cancel(keyOf(sourceId, assetPath));
    const removed = await this.store.remove(sourceId, assetPath);
    await this.storage.deletePrefix(this.files.assetKey(sourceId, assetPath));
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
      await this.storage.deletePrefix(this.files.assetKey(record.sourceId, record.path));
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
      this.takeOver(source, record, tools);
    }
  }

  /**
   * Encodes a video left in `processing` here, when no other node holds an unexpired claim on it (its encoder
   * crashed, or never started) and this node is not already at it. In the background: the request is answered 423.
   */
  private takeOver(source: ResolvedSource, record: VideoRecord, tools: VideoTools): void {
    const key = keyOf(record.sourceId, record.path);
    if (this.queue.has(key) || this.admitting.has(key)) return;
    const { claim } = record;
    if (claim && claim.node !== this.options.nodeId && claim.expiresAt > this.now()) return;
    const taken = this.admitOnce(key, () => this.encodeClaimed(source, record, tools));
    void taken.catch((error: unknown) => this.options.onError(error, `taking over ${key}`));
  }

  /** Claims a version in `processing` and queues its encode from the origin's bytes (revalidated if they changed). */
  private async encodeClaimed(source: ResolvedSource, record: VideoRecord, tools: VideoTools): Promise<VideoRecord | undefined> {
    if (!(await this.claim(record))) return record;
    const fetched = await source.origin.fetch(record.path);
    if (fetched.kind !== 'found' || sha256(fetched.body) !== record.origin.sha256) {
      this.release(keyOf(record.sourceId, record.path));
      // Already the video's admission: the new bytes are processed here, not through admitOnce (which would wait on itself).
      return (await this.revalidate(source, record.path, record, false)).record;
    }
    const input = this.files.tempPath(path.extname(record.path));
    await fs.writeFile(input, fetched.body);
    this.enqueue(record, input, record.probe as VideoProbe, tools);
    return record;
  }

  private admitOnce(key: string, admit: () => Promise<VideoRecord | undefined>): Promise<VideoRecord | undefined> {
    let pending = this.admitting.get(key);
    if (!pending) {
      pending = admit().finally(() => this.admitting.delete(key));
      this.admitting.set(key, pending);
    }
    return pending;
  }

  /**
   * Asks the origin whether `previous`'s bytes are still there (conditionally), and acts on the answer. New
   * bytes are processed once per node (`admitOnce`), unless the caller already is that admission (`once` false).
   */
  private async revalidate(source: ResolvedSource, assetPath: string, previous: VideoRecord, once = true): Promise<RefreshResult> {
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
    const start = () => this.startProcessing(source, assetPath, previous.version, fetched.body, origin, tools);
    const record = once ? await this.admitOnce(keyOf(id, assetPath), start) : await start();
    return { outcome: record?.state === 'error' ? 'error' : 'reprocessing', record };
  }

  /**
   * Fetches a video from its origin and starts processing it as the version after `after` (null: its first);
   * undefined when the origin has no such file.
   */
  private async admit(source: ResolvedSource, assetPath: string, tools: VideoTools, after: number | null = null): Promise<VideoRecord | undefined> {
    const fetched = await source.origin.fetch(assetPath);
    if (fetched.kind !== 'found') return undefined;
    const origin = { ...originValidators(fetched.validators), size: fetched.body.length, sha256: sha256(fetched.body), object: fetched.object };
    return this.startProcessing(source, assetPath, after, fetched.body, origin, tools);
  }

  /**
   * Probes the bytes (an unreadable file or one over a limit ends in the error state at once), starts the
   * version after `after` in `processing`, deletes the older versions' outputs, claims the encode and queues
   * it. When another node started that version first, its record is returned and nothing else is done here.
   */
  private async startProcessing(
    source: ResolvedSource,
    assetPath: string,
    after: number | null,
    body: Buffer,
    origin: VideoOrigin,
    tools: VideoTools,
  ): Promise<VideoRecord | undefined> {
    const { id } = source.record;
    const key = keyOf(id, assetPath);
    if (!this.queue.has(key) && this.queue.depth >= this.options.queueLimit + this.options.concurrency) throw queueFull();
    const input = this.files.tempPath(path.extname(assetPath));
    await fs.writeFile(input, body);
    let probe: VideoProbe;
    try {
      probe = await probeVideo(tools.ffprobe, input, { maxDurationSeconds: this.options.maxDurationSeconds, maxSide: this.options.maxSide }, this.stopping.signal);
    } catch (error) {
      await this.files.remove(input);
      if (!isPictorError(error)) throw error;
      const record = await this.store.startVersionAfter(id, assetPath, after, origin, null, this.now());
      if (!record) return this.store.get(id, assetPath);
      await this.store.markError(id, assetPath, record.version, { code: error.code, reason: error.message }, this.now());
      await this.storage.deletePrefix(this.files.assetKey(id, assetPath));
      return { ...record, state: 'error', errorCode: error.code, reason: error.message };
    }
    const record = await this.store.startVersionAfter(id, assetPath, after, origin, probe, this.now());
    if (!record || !(await this.claim(record))) {
      await this.files.remove(input);
      return record ?? this.store.get(id, assetPath);
    }
    await this.storage.deletePrefix(this.files.assetKey(id, assetPath), `v${record.version}`);
    this.enqueue(record, input, probe, tools);
    return record;
  }

  /** Claims the encode of `record`'s version for this node and renews the claim until released; false when another node holds it. */
  private async claim(record: VideoRecord): Promise<boolean> {
    const { sourceId, path: assetPath, version } = record;
    const { nodeId, claimLeaseMs } = this.options;
    if (!(await this.store.claimEncode(sourceId, assetPath, version, nodeId, claimLeaseMs, this.now()))) return false;
    const key = keyOf(sourceId, assetPath);
    this.release(key);
    const timer = setInterval(() => {
      this.store.renewClaim(sourceId, assetPath, version, nodeId, claimLeaseMs, this.now()).then(
        (held) => {
          // Lost (another node took it after a pause here, or the version ended): the encode here stops.
          if (!held && this.renewals.get(key) === timer) this.queue.cancel(key);
        },
        (error: unknown) => this.options.onError(error, `renewing the encode claim of ${key}`),
      );
    }, Math.max(100, Math.floor(claimLeaseMs / 3)));
    timer.unref();
    this.renewals.set(key, timer);
    return true;
  }

  private release(key: string): void {
    clearInterval(this.renewals.get(key));
    this.renewals.delete(key);
  }

  /** Queues the encode of a claimed version; the claim is released when it ends. */
  private enqueue(record: VideoRecord, input: string, probe: VideoProbe, tools: VideoTools): void {
    const key = keyOf(record.sourceId, record.path);
    const queued = this.queue.enqueue(key, async (signal) => {
      try {
        await this.encode(record, input, probe, tools, signal);
      } finally {
        this.release(key);
      }
    });
    if (!queued) {
      this.release(key);
      void this.files.remove(input);
      throw queueFull();
    }
  }

  /**
   * One ffmpeg pass for the whole ladder on this node's disk; every file is stored, the ladder last, and only
   * then does the record flip to processed (never a half-stored ladder behind a `processed` record).
   */
  private async encode(record: VideoRecord, input: string, probe: VideoProbe, tools: VideoTools, signal: AbortSignal): Promise<void> {
    const { sourceId, path: assetPath, version } = record;
    const temp = this.files.tempPath();
    const aborted = AbortSignal.any([signal, this.stopping.signal]);
    try {
      const ladder = await this.encodeLadder(input, temp, probe, tools, aborted);
      if (aborted.aborted) return;
      const prefix = this.files.versionKey(sourceId, assetPath, version);
      for (const file of await filesUnder(temp)) {
        if (aborted.aborted) return;
        await this.storage.put(`${prefix}/${file}`, path.join(temp, file));
      }
      const ladderFile = path.join(temp, 'ladder.json');
      await fs.writeFile(ladderFile, JSON.stringify(ladder));
      if (aborted.aborted) return;
      await this.storage.put(`${prefix}/ladder.json`, ladderFile);
      // Superseded or removed meanwhile: this version is nobody's.
      if (!(await this.store.markProcessed(sourceId, assetPath, version, this.now()))) {
        const current = await this.store.get(sourceId, assetPath);
        if (current?.version !== version || current.state !== 'processed') await this.storage.deletePrefix(prefix);
      }
    } catch (error) {
      // Aborted: a newer version replaced this one, another node took the claim over, or the server is
      // stopping (the record stays `processing`, and is taken over once its claim expires). None is the video's fault.
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

  /**
   * The ladder of a stored version, or undefined when it is not (or no longer) in the video store. Read on
   * every request, not kept: outputs deleted from the store are then noticed (and encoded again) at once.
   */
  private async ladder(prefix: string): Promise<LadderInfo | undefined> {
    if (!(await this.storage.stat(`${prefix}/ladder.json`))) return undefined;
    return JSON.parse((await readAll(this.storage, `${prefix}/ladder.json`)).toString('utf8')) as LadderInfo;
  }
}

/** The answer while a video is queued or encoding: 423 with Retry-After (imgix answers 423 too). */
export function processing(): PictorError {
  return new PictorError('VIDEO_PROCESSING', 'This video is being processed; try again in a few seconds.', { headers: { 'retry-after': String(RETRY_AFTER_SECONDS) } });
}

function queueFull(): PictorError {
  return new PictorError('VIDEO_QUEUE_FULL', 'Too many videos are waiting to be processed; try again later.', { headers: { 'retry-after': '60' } });
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
