import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

/** s3rver's only account: access key S3RVER, secret S3RVER. */
export const S3RVER_KEY = 'S3RVER';

export interface TestBucket {
  endpoint: string;
  bucket: string;
  /** An SDK client on the bucket's server, for a test to look at what is stored. */
  client: S3Client;
  stop(): Promise<void>;
}

/** A real S3-compatible server (s3rver) on loopback with one empty bucket; `stop()` removes everything. */
export async function startBucket(bucket: string): Promise<TestBucket> {
  const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true });
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  const client = new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: S3RVER_KEY, secretAccessKey: S3RVER_KEY },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    endpoint,
    bucket,
    client,
    stop: async () => {
      client.destroy();
      await server.close();
      await fs.rm(directory, { recursive: true, force: true });
    },
  };
}
