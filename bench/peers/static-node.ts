/**
 * A bare Node http server answering every request with the same bytes from memory: the ceiling for any
 * Node server on this machine. `node --import tsx bench/peers/static-node.ts <file> <content-type> [headers.json]`:
 * with a JSON list of header names and values, it sends exactly those (scenario 2 gives it the headers of
 * Pictor's hit, to tell what sending them costs from what Pictor does to find them).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const [file, type = 'application/octet-stream', headersFile] = process.argv.slice(2);
if (!file) throw new Error('usage: static-node.ts <file> [content-type] [headers.json]');
const body = readFileSync(file);
const given = headersFile ? (JSON.parse(readFileSync(headersFile, 'utf8')) as string[]) : undefined;
const server = createServer((_request, response) => {
  if (given) response.writeHead(200, given);
  else response.writeHead(200, { 'content-type': type, 'content-length': body.length, 'cache-control': 'public, max-age=31536000' });
  response.end(body);
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (typeof address === 'object' && address) process.stdout.write(`Node URL: http://127.0.0.1:${address.port}/\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
