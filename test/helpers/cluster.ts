import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { renderVcl } from '../../src/edges/vcl.ts';
import type { PurgeDocument } from './pictor.ts';
import { startPostgres, type TestPostgres } from './postgres.ts';
import { spawnServer, type ServerProcess } from './process.ts';
import { freePort } from './ports.ts';
import { startVarnish, type TestVarnish } from './varnish.ts';

/**
 * A real cluster on loopback: one PostgreSQL, N `pictor serve` processes sharing it (each with its own
 * data directory and fixed ports, so a restarted node is where the edges expect it) and M Varnish edges
 * in front of them, registered with Pictor as edges. Everything started here is stopped by `stop()`.
 */
export interface TestCluster {
  pg: TestPostgres;
  databaseUrl: string;
  assetsDir: string;
  nodes: TestNode[];
  edges: TestVarnish[];
  /** The admin key printed by the node that created it on the first start. */
  apiKey: string;
  /** Writes (or replaces) a file in the shared assets folder. */
  put(name: string, body: Buffer | string): Promise<void>;
  /** POST /api/v1/purge on a node's admin listener. */
  purge(url: string, node?: number, attributes?: Record<string, unknown>): Promise<{ status: number; body: PurgeDocument }>;
  /** The purge's status document attributes, read from a node. */
  status(id: string, node?: number): Promise<Record<string, unknown>>;
  /** Polls until the purge is no longer pending. */
  waitCompleted(id: string, timeoutMs?: number, node?: number): Promise<Record<string, unknown>>;
  /** Admin API call with the cluster's key. */
  api(method: string, urlPath: string, body?: unknown, node?: number): Promise<{ status: number; body: unknown }>;
  startNode(index: number): Promise<void>;
  stop(): Promise<void>;
}

export interface TestNode {
  id: string;
  renderPort: number;
  adminPort: number;
  renderUrl: string;
  adminUrl: string;
  dataDir: string;
  process: ServerProcess | undefined;
}

export interface ClusterSetup {
  nodes: number;
  edges: number;
  lease?: number;
  assets?: Record<string, Buffer | string>;
  extraArgs?: string[];
  /** Wraps each node's command line (see spawnServer), e.g. to run the built `dist/` rather than `src/`. */
  command?: (argv: string[]) => string[];
  /** Each edge's cache storage (`varnishd -s`); startVarnish's default when not given. */
  edgeStorage?: string;
}

export async function startCluster(setup: ClusterSetup): Promise<TestCluster> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-cluster-'));
  const assetsDir = path.join(root, 'assets');
  await fs.mkdir(assetsDir, { recursive: true });
  for (const [name, body] of Object.entries(setup.assets ?? {})) await fs.writeFile(path.join(assetsDir, name), body);
  const pg = await startPostgres();
  const databaseUrl = await pg.createDatabase('pictor');
  const secretKey = randomBytes(32).toString('base64');
  const nodes: TestNode[] = [];
  for (let i = 0; i < setup.nodes; i++) {
    const renderPort = await freePort();
    const adminPort = await freePort();
    nodes.push({
      id: `node-${i + 1}`,
      renderPort,
      adminPort,
      renderUrl: `http://127.0.0.1:${renderPort}`,
      adminUrl: `http://127.0.0.1:${adminPort}`,
      dataDir: path.join(root, `node-${i + 1}`),
      process: undefined,
    });
  }
  const edges: TestVarnish[] = [];
  let apiKey = '';

  const startNode = async (index: number): Promise<void> => {
    const node = nodes[index]!;
    node.process = await spawnServer(
      [
        '--port', String(node.renderPort),
        '--admin-port', String(node.adminPort),
        '--database', databaseUrl,
        '--node-id', node.id,
        '--node-lease', String(setup.lease ?? 2),
        '--data', node.dataDir,
        '--assets', assetsDir,
        '--purge-rate-limit', '100000',
        ...(setup.extraArgs ?? []),
      ],
      { PICTOR_SECRET_KEY: secretKey },
      setup.command,
    );
    if (node.process.apiKey) apiKey = node.process.apiKey;
  };

  const api = async (method: string, urlPath: string, body?: unknown, node = 0) => {
    const response = await fetch(`${nodes[node]!.adminUrl}${urlPath}`, {
      method,
      headers: { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/vnd.api+json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
  };

  const cluster: TestCluster = {
    pg,
    databaseUrl,
    assetsDir,
    nodes,
    edges,
    get apiKey() {
      return apiKey;
    },
    put: async (name, body) => {
      const file = path.join(assetsDir, name);
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(`${file}.tmp`, body);
      await fs.rename(`${file}.tmp`, file);
    },
    purge: async (url, node = 0, attributes = {}) => {
      const { status, body } = await api('POST', '/api/v1/purge', { data: { type: 'purges', attributes: { url, ...attributes } } }, node);
      return { status, body: body as PurgeDocument };
    },
    status: async (id, node = 0) => ((await api('GET', `/api/v1/purges/${id}`, undefined, node)).body as PurgeDocument).data!.attributes,
    waitCompleted: async (id, timeoutMs = 15_000, node = 0) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const attributes = await cluster.status(id, node);
        if (attributes.status !== 'pending') return attributes;
        if (Date.now() > deadline) throw new Error(`purge ${id} still pending after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    api,
    startNode,
    stop: async () => {
      for (const node of nodes) {
        if (!node.process || node.process.child.exitCode !== null) continue;
        node.process.child.kill('SIGCONT');
        node.process.child.kill('SIGTERM');
        const stopped = await Promise.race([node.process.exited, new Promise((resolve) => setTimeout(() => resolve('timeout'), 10_000))]);
        if (stopped === 'timeout') node.process.child.kill('SIGKILL');
      }
      for (const edge of edges) await edge.stop();
      await pg.stop();
      await fs.rm(root, { recursive: true, force: true });
    },
  };

  try {
    // All nodes start at once on the empty database: the bootstrap must make one default Source and one key.
    await Promise.all(nodes.map((_, index) => startNode(index)));
    if (!apiKey) throw new Error('no node printed the first admin key');
    const vcl = renderVcl({ backends: nodes.map((node) => `127.0.0.1:${node.renderPort}`) });
    for (let i = 0; i < setup.edges; i++) {
      const edge = await startVarnish({ vcl, name: `edge-${i + 1}`, storage: setup.edgeStorage });
      edges.push(edge);
      const added = await api('POST', '/api/v1/edges', { data: { type: 'edges', attributes: { name: edge.name, url: edge.url } } });
      if (added.status >= 300) throw new Error(`edge not added: ${added.status} ${JSON.stringify(added.body)}`);
    }
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}
