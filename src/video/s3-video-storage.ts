import '../node-support.ts';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import type { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import type { StoredFile, VideoStorage } from './video-storage.ts';

export interface S3VideoStorageConfig {
  bucket: string;
  /** Key prefix, without slashes at either end ('' for none). */
  prefix: string;
  /** Any S3-compatible endpoint (path-style addressing); AWS when absent. */
  endpoint?: string | undefined;
  region: string;
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
}

/** Objects deleted at once when a prefix is deleted. */
const DELETE_CONCURRENCY = 16;

/**
 * Outputs in an S3-compatible bucket, on the AWS SDK as S3 Sources use it (sources/s3-origin.ts): checksums
 * only when required, so stores without the newer checksum headers work. The endpoint and keys are the
 * operator's (`--video-store-*`), not a Source's: they are trusted, so the outbound guard does not apply.
 * Without both keys, the SDK's default chain (environment, instance role) signs the requests.
 */
export class S3VideoStorage implements VideoStorage {
  readonly describe: string;
  private readonly client: S3Client;
  private readonly prefix: string;

  constructor(private readonly config: S3VideoStorageConfig) {
    const clientConfig: S3ClientConfig = {
      region: config.region,
      forcePathStyle: config.endpoint !== undefined,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    };
    if (config.endpoint !== undefined) clientConfig.endpoint = config.endpoint;
    if (config.accessKeyId && config.secretAccessKey) {
      clientConfig.credentials = { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey };
    }
    this.client = new S3Client(clientConfig);
    this.prefix = config.prefix === '' ? '' : `${config.prefix}/`;
    this.describe = `s3://${config.bucket}/${config.prefix}${config.endpoint ? ` at ${config.endpoint}` : ''}`;
  }

  async put(key: string, file: string): Promise<void> {
    const { size } = await fs.stat(file);
    const body = createReadStream(file);
    await this.client.send(new PutObjectCommand({ Bucket: this.config.bucket, Key: this.prefix + key, Body: body, ContentLength: size }));
  }

  async stat(key: string): Promise<StoredFile | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.config.bucket, Key: this.prefix + key }));
      return { size: head.ContentLength ?? 0, modifiedMs: head.LastModified?.getTime() ?? 0 };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async read(key: string, start?: number, end?: number): Promise<Readable> {
    const range = start === undefined ? undefined : `bytes=${start}-${end ?? ''}`;
    const object = await this.client.send(new GetObjectCommand({ Bucket: this.config.bucket, Key: this.prefix + key, Range: range }));
    return object.Body as Readable;
  }

  async deletePrefix(prefix: string, except?: string): Promise<void> {
    const base = `${this.prefix}${prefix}/`;
    const kept = except === undefined ? undefined : `${base}${except}/`;
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.config.bucket, Prefix: base, ContinuationToken: token }));
      const keys = (page.Contents ?? []).map((object) => object.Key!).filter((key) => kept === undefined || !key.startsWith(kept));
      // One DELETE per object: DeleteObjects needs a checksum header not every S3-compatible store takes.
      for (let i = 0; i < keys.length; i += DELETE_CONCURRENCY) {
        const batch = keys.slice(i, i + DELETE_CONCURRENCY);
        await Promise.all(batch.map((Key) => this.client.send(new DeleteObjectCommand({ Bucket: this.config.bucket, Key }))));
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }
}

function isMissing(error: unknown): boolean {
  const { name, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return name === 'NotFound' || name === 'NoSuchKey' || $metadata?.httpStatusCode === 404;
}
