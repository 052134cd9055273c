/**
 * ipx 3 as its own process: `node --import tsx bench/peers/ipx-server.ts <dir> <defaults|parity>`.
 * URLs look like /w_400,f_webp,q_75/photo.jpg. Prints "IPX URL: http://127.0.0.1:<port>/" once listening.
 *
 * "parity" sets the encoder default in which ipx differs from Pictor, through ipx's own `sharpOptions`
 * (which ipx copies onto sharp's options): AVIF effort 1 instead of sharp's 4. Both encode progressive JPEG
 * by default (imgix's default too).
 */
import { createServer } from 'node:http';
import { PARITY_AVIF_EFFORT } from '../lib/parity.ts';
import { createIPX, createIPXNodeServer, ipxFSStorage, type IPXOptions } from 'ipx';

const [dir, mode = 'defaults'] = process.argv.slice(2);
if (!dir) throw new Error('usage: ipx-server.ts <dir> [defaults|parity]');
const parity = { heifEffort: PARITY_AVIF_EFFORT } as unknown as IPXOptions['sharpOptions'];
const ipx = createIPX({ storage: ipxFSStorage({ dir }), ...(mode === 'parity' ? { sharpOptions: parity } : {}) });
const server = createServer(createIPXNodeServer(ipx));
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (typeof address === 'object' && address) process.stdout.write(`IPX URL: http://127.0.0.1:${address.port}/\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
