import '../node-support.ts';
import type { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client, type GetObjectCommandInput, type S3ClientConfig } from '@aws-sdk/client-s3';
import { PictorError } from '../errors.ts';
import { decodeAssetPath } from './asset-path.ts';
import { contentTypeFromPath, type Origin, type OriginFile, type OriginObject, type OriginResult, type Validators } from './origin.ts';
import { findRefusal, guardedNodeAgents, type Resolver } from './outbound-guard.ts';

export interface S3OriginConfig {
  bucket: string;
  /** Key prefix, joined to the path with exactly one slash (`images` and `images/` are the same). */
  prefix?: string | undefined;
  /** Without both keys, requests are sent unsigned (a public bucket): instance roles and the environment are never used. */
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
  region?: string | undefined;
  /** Any S3-compatible endpoint URL; the AWS endpoint of `region` when absent. */
  endpoint?: string | undefined;
  /** Path-style addressing (`endpoint/bucket/key`); defaults to true when `endpoint` is set. */
  forcePathStyle?: boolean | undefined;
  maxBytes: number;
  /** Bound of one whole fetch (every SDK attempt and the body), in seconds. */
  timeoutSeconds: number;
  /** SDK attempts, first one included (default 3). */
  maxAttempts?: number;
  /** IPs and CIDRs the endpoint may be at although private (`--outbound-allow`). */
  outboundAllow: readonly string[];
  /** Host name resolution (the system's by default); every address it returns is still checked. */
  resolve?: Resolver;
}

/**
 * Shortest bound of an upload's PutObject, in seconds: the fetch bound (`--origin-timeout`) is sized for
 * reading one file, and an upload may be much larger than the images a Source usually serves.
 */
const MIN_UPLOAD_SECONDS = 60;

/** Errors that say the Source's credentials are wrong: a configuration problem, not a missing asset. */
const CREDENTIAL_ERRORS = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidToken', 'ExpiredToken', 'TokenRefreshRequired', 'AuthorizationHeaderMalformed']);

/**
 * `s3`, `s3_compatible` and `gcs` (through its S3-interoperable XML API and HMAC keys): one implementation on
 * the AWS SDK v3.
 *
 * - Key = prefix + the **decoded** path without its leading slash (S3 keys are raw bytes, not percent-encoded):
 *   `/a%20b.jpg` under prefix `img` reads the object `img/a b.jpg`.
 * - Conditional: `IfNoneMatch` from the validators' ETag (else `IfModifiedSince`); the SDK throws on `304`,
 *   mapped to `not-modified`.
 * - `NoSuchKey`/`404` → `missing`; `AccessDenied` (403) → `missing` too, because S3 answers 403 for an absent
 *   key when the credentials may not list the bucket. Credential errors (`InvalidAccessKeyId`,
 *   `SignatureDoesNotMatch`, …), `NoSuchBucket` and everything else → `ORIGIN_UNAVAILABLE` (502), so a purge
 *   reports `failed` and the message says why.
 * - Size: `ContentLength` over the limit is refused before reading, and the body is streamed and abandoned
 *   past the limit. Time: one abort signal bounds every attempt and the body. Retries: the SDK's standard
 *   strategy, `maxAttempts` 3 (5xx, throttling, network errors).
 * - Checksums: calculated and validated only when required, so S3-compatible stores without the newer
 *   checksum headers work.
 *
 * Security: the endpoint is chosen by whoever holds the `sources` permission, so it is not trusted. Every
 * connection the SDK opens — to a custom `endpoint`, to AWS or GCS, after a region redirect — goes through
 * the agents of `guardedNodeAgents` (outbound-guard.ts): a loopback, private, link-local or metadata
 * address is refused before connecting (`OUTBOUND_REFUSED`, 403) unless `--outbound-allow` admits it, which
 * is how a self-hosted store on the local network (MinIO, Ceph, SeaweedFS) is reached. The URL path of a
 * render only ever selects an object key inside the configured bucket and prefix.
 */
export class S3Origin implements Origin {
  readonly client: S3Client;
  private readonly prefix: string;
  /** `s3:<endpoint host>/<bucket>/`, or `s3:aws/<bucket>/` (AWS bucket names are global): objects are this plus the key. */
  private readonly objectPrefix: string;

  constructor(private readonly config: S3OriginConfig) {
    const endpoint = config.endpoint?.trim() || undefined;
    const clientConfig: S3ClientConfig = {
      region: config.region?.trim() || 'us-east-1',
      forcePathStyle: config.forcePathStyle ?? endpoint !== undefined,
      maxAttempts: config.maxAttempts ?? 3,
      // A bucket in another region than `region` is still read (AWS answers 301 with the right region).
      followRegionRedirects: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // Options of the SDK's NodeHttpHandler: agents given here are used for every request (none of its own).
      requestHandler: { ...guardedNodeAgents(config.outboundAllow, config.resolve ? { resolve: config.resolve } : {}) },
    };
    if (endpoint !== undefined) clientConfig.endpoint = endpoint;
    if (config.accessKeyId && config.secretAccessKey) {
      clientConfig.credentials = { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey };
    } else {
      // Anonymous: no signature, and no default credential chain (environment, files, instance metadata).
      clientConfig.credentials = { accessKeyId: '', secretAccessKey: '' };
      clientConfig.signer = { sign: (request) => Promise.resolve(request) };
    }
    this.client = new S3Client(clientConfig);
    const prefix = (config.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.prefix = prefix === '' ? '' : `${prefix}/`;
    this.objectPrefix = `s3:${endpoint === undefined ? 'aws' : endpointHost(endpoint)}/${config.bucket}/`;
  }

  async objectFor(canonicalPath: string): Promise<OriginObject> {
    return this.objectPrefix + this.keyFor(canonicalPath);
  }

  /** The object key of a canonical path. */
  keyFor(canonicalPath: string): string {
    return this.prefix + decodeAssetPath(canonicalPath).slice(1);
  }

  async fetch(canonicalPath: string, validators?: Validators): Promise<OriginResult> {
    const key = this.keyFor(canonicalPath);
    if (key === '' || key.endsWith('/')) return { kind: 'missing' };
    const input: GetObjectCommandInput = { Bucket: this.config.bucket, Key: key };
    if (validators?.etag !== undefined) input.IfNoneMatch = validators.etag;
    else if (validators?.lastModified !== undefined) {
      const since = new Date(validators.lastModified);
      if (!Number.isNaN(since.getTime())) input.IfModifiedSince = since;
    }

    const timeoutMs = Math.max(1, Math.round(this.config.timeoutSeconds * 1000));
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error(`timeout after ${this.config.timeoutSeconds} s`)), timeoutMs);
    try {
      let output;
      try {
        output = await this.client.send(new GetObjectCommand(input), { abortSignal: controller.signal });
      } catch (error) {
        return this.mapError(error, validators, controller.signal, key);
      }
      const current: Validators = {};
      if (output.ETag !== undefined) current.etag = output.ETag;
      if (output.LastModified !== undefined) current.lastModified = output.LastModified.toUTCString();
      const body = output.Body as Readable | undefined;
      if (output.ContentLength !== undefined && output.ContentLength > this.config.maxBytes) {
        body?.on('error', () => undefined).destroy();
        throw tooLarge(`is ${output.ContentLength} bytes`, this.config.maxBytes);
      }
      const bytes = body === undefined ? Buffer.alloc(0) : await this.readCapped(body, controller.signal);
      const declared = output.ContentType;
      const contentType = declared === undefined || declared === '' || /^(application\/octet-stream|binary\/octet-stream)\b/i.test(declared) ? contentTypeFromPath(key) : declared;
      const result: OriginResult = { kind: 'found', body: bytes, contentType, validators: current, object: this.objectPrefix + key };
      if (output.CacheControl !== undefined) result.cacheControl = output.CacheControl;
      return result;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Uploads (PutObject), with the file's content type. Without `overwrite`, an object already at the key is
   * refused (HeadObject first: a store that writes the same key at that moment may still win).
   */
  async write(canonicalPath: string, file: OriginFile): Promise<'created' | 'replaced'> {
    const key = this.keyFor(canonicalPath);
    if (key === '' || key.endsWith('/')) throw new PictorError('INVALID_PATH', 'Invalid path: name a file to upload, not a folder.');
    const existed = await this.bounded(this.config.timeoutSeconds, async (signal) => {
      try {
        await this.client.send(new HeadObjectCommand({ Bucket: this.config.bucket, Key: key }), { abortSignal: signal });
        return true;
      } catch (error) {
        return this.mapError(error, undefined, signal, key).kind !== 'missing';
      }
    });
    if (existed && !file.overwrite) throw new PictorError('CONFLICT', `${canonicalPath} already exists at the origin; add ?overwrite=true to replace it.`);
    const seconds = Math.max(MIN_UPLOAD_SECONDS, this.config.timeoutSeconds);
    await this.bounded(seconds, async (signal) => {
      try {
        await this.client.send(new PutObjectCommand({ Bucket: this.config.bucket, Key: key, Body: file.body, ContentType: file.contentType }), { abortSignal: signal });
      } catch (error) {
        const refusal = findRefusal(error);
        if (refusal) throw refusal;
        const name = (error as { name?: string } | undefined)?.name ?? '';
        if (signal.aborted) throw this.unavailable(`did not take the upload within ${seconds} s`, error);
        throw this.unavailable(`refused the upload (${name === '' || name === 'Error' ? describe(error) : name})`, error);
      }
    });
    return existed ? 'replaced' : 'created';
  }

  /** Runs `work` with a signal that aborts after `seconds`. */
  private async bounded<T>(seconds: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error(`timeout after ${seconds} s`)), Math.max(1, Math.round(seconds * 1000)));
    try {
      return await work(controller.signal);
    } finally {
      clearTimeout(timer);
    }
  }

  private async readCapped(body: Readable, signal: AbortSignal): Promise<Buffer> {
    const onAbort = () => body.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    const chunks: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        total += chunk.length;
        if (total > this.config.maxBytes) {
          body.on('error', () => undefined).destroy();
          throw tooLarge(`is over ${this.config.maxBytes} bytes`, this.config.maxBytes);
        }
        chunks.push(chunk);
      }
    } catch (error) {
      if (error instanceof PictorError) throw error;
      throw this.unavailable(signal.aborted ? `did not answer within ${this.config.timeoutSeconds} s` : `failed while sending the object (${describe(error)})`, error);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    return Buffer.concat(chunks, total);
  }

  private mapError(error: unknown, validators: Validators | undefined, signal: AbortSignal, key: string): OriginResult {
    const refusal = findRefusal(error);
    if (refusal) throw refusal;
    const name = (error as { name?: string } | undefined)?.name ?? '';
    const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
    if (status === 304 || name === 'NotModified') return { kind: 'not-modified', validators: { ...validators }, object: this.objectPrefix + key };
    if (name === 'NoSuchKey' || name === 'NotFound' || name === 'AccessDenied' || (status === 404 && name !== 'NoSuchBucket')) return { kind: 'missing' };
    if (signal.aborted) throw this.unavailable(`did not answer within ${this.config.timeoutSeconds} s`, error);
    if (CREDENTIAL_ERRORS.has(name)) throw this.unavailable(`refused the Source's credentials (${name})`, error);
    if (name === 'NoSuchBucket') throw this.unavailable(`has no bucket "${this.config.bucket}"`, error);
    const what = name === '' || name === 'Error' || name === 'AggregateError' ? describe(error) : name;
    throw this.unavailable(`failed (${what}${status === undefined ? '' : `, HTTP ${status}`})`, error);
  }

  private unavailable(what: string, cause: unknown): PictorError {
    return new PictorError('ORIGIN_UNAVAILABLE', `The storage origin ${what}.`, { cause });
  }

  close(): void {
    this.client.destroy();
  }
}

/** The endpoint's host, lower-cased (path-style or virtual-hosted, the bucket is named apart). */
function endpointHost(endpoint: string): string {
  try {
    return new URL(endpoint).host.toLowerCase();
  } catch {
    return endpoint.toLowerCase();
  }
}

function tooLarge(what: string, maxBytes: number): PictorError {
  return new PictorError('INPUT_TOO_LARGE', `The origin file ${what}, over the limit of ${maxBytes} bytes.`);
}

function describe(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return code;
  const inner = (error as { errors?: unknown[] } | undefined)?.errors?.[0];
  if (inner !== undefined) return describe(inner);
  return error instanceof Error && error.message !== '' ? error.message : String(error);
}
