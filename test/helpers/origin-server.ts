import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

export interface TestOrigin {
  url: string;
  port: number;
  /** Every request received, in order. */
  requests: SeenRequest[];
  /** TCP connections accepted (to prove that a refused destination was never even connected to). */
  connections: number;
  close(): Promise<void>;
}

export type OriginHandler = (request: http.IncomingMessage, response: http.ServerResponse, seen: SeenRequest[]) => void;

/** A real HTTP origin on 127.0.0.1, port picked by the OS, that records what it is asked. */
export async function startOrigin(handler: OriginHandler): Promise<TestOrigin> {
  const requests: SeenRequest[] = [];
  const server = http.createServer((request, response) => {
    requests.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers });
    handler(request, response, requests);
  });
  const origin: TestOrigin = {
    url: '',
    port: 0,
    requests,
    connections: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server.on('connection', () => {
    origin.connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin.port = (server.address() as AddressInfo).port;
  origin.url = `http://127.0.0.1:${origin.port}`;
  return origin;
}
