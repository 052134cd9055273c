/**
 * A bare Node http server answering every request with the same bytes from memory: the ceiling for any
 * Node server on this machine. `node --import tsx bench/peers/static-node.ts <file> <content-type>`.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const [file, type = 'application/octet-stream'] = process.argv.slice(2);
if (!file) throw new Error('usage: static-node.ts <file> [content-type]');
const body = readFileSync(file);
const server = createServer((_request, response) => {
  response.writeHead(200, { 'content-type': type, 'content-length': body.length, 'cache-control': 'public, max-age=31536000' });
  response.end(body);
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (typeof address === 'object' && address) process.stdout.write(`Node URL: http://127.0.0.1:${address.port}/\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
