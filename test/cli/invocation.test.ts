import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cliInvocation } from '../../src/cli/invocation.ts';

describe('the CLI command line printed to copy', () => {
  let root: string;
  /** A file at `relative` under the temporary root. */
  const file = async (relative: string): Promise<string> => {
    const full = path.join(root, relative);
    await fs.mkdir(path.dirname(full), { recursive: true });
    await fs.writeFile(full, '');
    return full;
  };
  before(async () => {
    root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-invocation-')));
  });
  after(() => fs.rm(root, { recursive: true, force: true }));

  it('in a checkout: node bin/pictor.js (npx would install and build the checkout first), from its bin or its sources', async () => {
    const checkout = path.join(root, 'checkout');
    assert.equal(cliInvocation(await file('checkout/bin/pictor.js'), checkout), `node ${path.join('bin', 'pictor.js')}`);
    assert.equal(cliInvocation(await file('checkout/src/cli/index.ts'), checkout), `node ${path.join('bin', 'pictor.js')}`);
    assert.equal(cliInvocation(path.join(checkout, 'bin', 'pictor.js'), root), `node ${path.join('checkout', 'bin', 'pictor.js')}`);
  });

  it('from elsewhere than the checkout: its bin by its absolute path', () => {
    const bin = path.join(root, 'checkout', 'bin', 'pictor.js');
    assert.equal(cliInvocation(bin, path.join(root, 'elsewhere')), `node ${bin}`);
  });

  it('installed in the project: npx pictor, through the node_modules/.bin link too', async () => {
    const project = path.join(root, 'project');
    const bin = await file('project/node_modules/pictor/bin/pictor.js');
    await fs.mkdir(path.join(project, 'node_modules', '.bin'), { recursive: true });
    const link = path.join(project, 'node_modules', '.bin', 'pictor');
    await fs.symlink(bin, link);
    assert.equal(cliInvocation(link, project), 'npx pictor');
  });

  it('installed globally: pictor', async () => {
    assert.equal(cliInvocation(await file('global/lib/node_modules/pictor/bin/pictor.js'), path.join(root, 'project')), 'pictor');
  });
});
