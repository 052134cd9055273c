/**
 * `npm run demo:cluster`: a whole cluster on loopback — a PostgreSQL, three Pictor nodes and two Varnish
 * edges in front of them — with the sample images, until Ctrl-C stops everything. It uses the same
 * launchers as the cluster tests (real processes; nothing is simulated).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { startCluster } from '../test/helpers/cluster.ts';

const assets: Record<string, Buffer> = {};
for (const name of ['sunset.jpg', 'logo.png']) assets[name] = await fs.readFile(path.join('assets', name));

console.log('Starting PostgreSQL, three nodes and two Varnish edges on loopback…');
const cluster = await startCluster({ nodes: 3, edges: 2, lease: 10, assets });
const node = cluster.nodes[0]!;
// `npx pictor` in this checkout would first install and build it into npm's cache.
const purge = `node bin/pictor.js purge --api ${node.adminUrl} --key ${cluster.apiKey} --wait ${node.renderUrl}/sunset.jpg`;
console.log(`
PostgreSQL   ${cluster.databaseUrl}
Nodes        ${cluster.nodes.map((entry) => `${entry.id}: render ${entry.renderUrl}, admin ${entry.adminUrl}`).join('\n             ')}
Edges        ${cluster.edges.map((edge) => `${edge.name}: ${edge.url}`).join('\n             ')}
Admin key    ${cluster.apiKey}
Dashboard    ${node.adminUrl}/dashboard/  (user admin, password ${cluster.adminPassword}; any node's admin URL works)

Try, through an edge (the second request is a hit: see Cache-Status):
  curl -sI '${cluster.edges[0]!.url}/sunset.jpg?w=300' | grep -i cache-status
Purge it everywhere (every node, then both edges) and wait for the result:
  ${purge}
The assets folder is ${cluster.assetsDir}.

Ctrl-C stops everything.`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  console.log('\nStopping…');
  cluster.stop().then(
    () => {
      console.log('Stopped.');
      process.exit(0);
    },
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
