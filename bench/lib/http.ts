/** A small keep-alive HTTP client on node:http (cheaper per request than fetch, for polling and bursts). */
import http from 'node:http';

export const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
}

export async function request(url: string, options: RequestOptions = {}): Promise<Reply> {
  try {
    return await send(url, options);
  } catch (error) {
    // A kept-alive socket the server closed as the request went out (its idle timeout): a GET is sent again.
    if ((options.method ?? 'GET') !== 'GET' || !(error as { reusedSocket?: boolean }).reusedSocket) throw error;
    return send(url, options);
  }
}

function send(url: string, options: RequestOptions): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(options.timeoutMs ?? 60_000, () => req.destroy(new Error(`timeout: ${options.method ?? 'GET'} ${url}`)));
    req.on('error', (error: Error) => reject(Object.assign(error, { reusedSocket: req.reusedSocket && (error as NodeJS.ErrnoException).code === 'ECONNRESET' })));
    req.end(options.body);
  });
}

export async function getOk(url: string): Promise<Reply> {
  const reply = await request(url);
  if (reply.status !== 200) throw new Error(`GET ${url}: ${reply.status} ${reply.body.toString().slice(0, 200)}`);
  return reply;
}

/** Runs task(i) for i in [0, count) with at most `concurrency` at once. */
export async function pool(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}
