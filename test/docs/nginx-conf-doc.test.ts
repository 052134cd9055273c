import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { blocks } from './markdown.ts';

/** The block after `<!-- example: NAME -->` in docs/cdn-edges.md. */
function example(name: string): string {
  const block = blocks('docs/cdn-edges.md').find((each) => each.marker?.kind === 'example' && each.marker.value === name);
  if (block === undefined) throw new Error(`docs/cdn-edges.md has no block marked <!-- example: ${name} -->`);
  return block.body;
}

describe('docs/cdn-edges.md, nginx', () => {
  it('prints what `pictor nginx-conf` prints for the command shown', async () => {
    // The command's first line, continuation joined, without the redirection into nginx's configuration.
    const command = example('nginx-conf-command').split('\npictor edges add')[0]!.replace(/\\\n\s*/g, '');
    const args = command.replace(/^pictor /, '').replace(/\s*>.*$/, '').split(/\s+/);
    assert.equal(args[0], 'nginx-conf');
    const printed = await runCli(args);
    assert.equal(printed.code, 0, printed.stderr);
    assert.equal(printed.stdout.trimEnd(), example('nginx-conf-output').trimEnd());
  });
});
