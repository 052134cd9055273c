import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { renderVcl } from '../../src/edges/vcl.ts';
import { startPostgres, type TestPostgres } from './postgres.ts';
import { spawnServer, type ServerProcess } from './process.ts';
import { freePort } from './ports.ts';
import { purgeStatus, requestPurge, waitForPurge, type PurgeDocument } from './purges.ts';
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
  /** The dashboard's `admin` password, as the node that created it printed it. */
  adminPassword: string;
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
  /** Starts node `index` (again), with `command` in place of the setup's (e.g. another build of Pictor). */
  startNode(index: number, command?: (argv: string[]) => string[]): Promise<void>;
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
  /** Environment of every node, beside the shared secret key. */
  env?: Record<string, string>;
  /** Wraps each node's command line (see spawnServer), e.g. to run the built `dist/` rather than `src/`. */
  command?: (argv: string[]) => string[];
  /** How many of the nodes start with the cluster (the first ones); the others wait for `startNode`. Default: all. */
  startedNodes?: number;
  /** Each edge's cache storage (`varnishd -s`); startVarnish's default when not given. */
  edgeStorage?: string;
}

export async function startCluster(setup: ClusterSetup): Promise<TestCluster> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-cluster-'));
  const assetsDir = path.join(root, 'assets');
  await fs.mkdir(assetsDir, { recursive: true });
  for (const [name, body] of Object.entries(setup.assets ?? {})) await fs.writeFile(path.join(assetsDir, name), body);
  let pg: TestPostgres;
  let databaseUrl: string;
  try {
    pg = await startPostgres();
    databaseUrl = await pg.createDatabase('pictor');
  } catch (error) {
    await fs.rm(root, { recursive: true, force: true });
    throw error;
  }
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
  let adminPassword = '';

  const startNode = async (index: number, command = setup.command): Promise<void> => {
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
      { ...setup.env, PICTOR_SECRET_KEY: secretKey },
      command,
    );
    if (node.process.apiKey) apiKey = node.process.apiKey;
    if (node.process.adminPassword) adminPassword = node.process.adminPassword;
  };

  const purgeApi = (node: number) => ({ adminUrl: nodes[node]!.adminUrl, apiKey });
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
    get adminPassword() {
      return adminPassword;
    },
    put: async (name, body) => {
      const file = path.join(assetsDir, name);
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(`${file}.tmp`, body);
      await fs.rename(`${file}.tmp`, file);
    },
    purge: (url, node = 0, attributes = {}) => requestPurge(purgeApi(node), url, attributes),
    status: (id, node = 0) => purgeStatus(purgeApi(node), id),
    waitCompleted: (id, timeoutMs = 60_000, node = 0) => waitForPurge(purgeApi(node), id, timeoutMs),
    api,
    startNode,
    // Whatever fails on the way, every process is stopped and the files removed.
    stop: async () => {
      try {
        await Promise.all(nodes.map((node) => stopNode(node)));
        await Promise.allSettled(edges.map((edge) => edge.stop()));
        await pg.stop();
      } finally {
        await fs.rm(root, { recursive: true, force: true });
      }
    },
  };

  try {
    // All nodes start at once on the empty database: the bootstrap must make one default Source and one key.
    await Promise.all(nodes.slice(0, setup.startedNodes ?? nodes.length).map((_, index) => startNode(index)));
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

/** SIGTERM (after SIGCONT, for a node a test stopped), then SIGKILL if it has not exited within 10 s. */
async function stopNode(node: TestNode): Promise<void> {
  const running = node.process;
  if (!running || running.child.exitCode !== null || running.child.signalCode !== null) return;
  running.child.kill('SIGCONT');
  running.child.kill('SIGTERM');
  const timer = setTimeout(() => running.child.kill('SIGKILL'), 10_000);
  await running.exited;
  clearTimeout(timer);
}
