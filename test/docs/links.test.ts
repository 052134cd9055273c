import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { anchors, blocks, NOT_COMMANDS, pages, read, relativeLinks, REPO } from './markdown.ts';

describe('the links of the README and docs/', () => {
  it('every relative link names a file that exists, and a #fragment one of its headings', () => {
    const broken: string[] = [];
    for (const page of pages()) {
      for (const link of relativeLinks(page)) {
        const [file, fragment] = link.split('#') as [string, string | undefined];
        const target = file === '' ? page : path.relative(REPO, path.resolve(REPO, path.dirname(page), file));
        if (!fs.existsSync(path.join(REPO, target))) broken.push(`${page}: ${link} (no ${target})`);
        else if (fragment !== undefined && !(target.endsWith('.md') && anchors(target).has(fragment))) {
          broken.push(`${page}: ${link} (no heading #${fragment} in ${target})`);
        }
      }
    }
    assert.deepEqual(broken, []);
  });

  it('the README links to every page of docs/', () => {
    const linked = new Set(relativeLinks('README.md').map((link) => link.split('#')[0]));
    const unlinked = pages().filter((page) => page !== 'README.md' && !linked.has(page));
    assert.deepEqual(unlinked, []);
  });

  it('anchors follow GitHub\'s rules: markup and punctuation dropped, spaces to dashes, repeats numbered', () => {
    assert.ok(anchors('docs/purge-api.md').has('post-apiv1purge'));
    assert.ok(anchors('docs/edges-and-cluster.md').has('edges-varnish'));
    assert.ok(anchors('docs/rendering.md').has('tone-texture-and-trim'));
  });
});

describe('the files of the repository that the pages name', () => {
  it('exist: every src/, test/, scripts/ and bench/ file named in code', () => {
    const named = pages().flatMap((page) =>
      [...read(page).matchAll(/`((?:src|test|scripts|bench)\/[\w./-]+\.(?:ts|mjs|js))`/g)].map(([, file]) => ({ page, file: file! })),
    );
    assert.ok(named.length > 20);
    const missing = named.filter(({ file }) => !fs.existsSync(path.join(REPO, file))).map(({ page, file }) => `${page}: ${file}`);
    assert.deepEqual(missing, []);
  });
});

describe('the code blocks of the README and docs/', () => {
  it('every block that is a command or code says whether a test runs it, and if not, why', () => {
    const unmarked = pages()
      .flatMap(blocks)
      .filter((block) => !NOT_COMMANDS.has(block.info) && block.marker === undefined)
      .map((block) => `${block.page}:${block.line}`);
    assert.deepEqual(unmarked, []);
  });

  it('the blocks marked as run are shell or JavaScript, and their names are unique', () => {
    const names = pages().flatMap(blocks).filter((block) => block.marker?.kind === 'test');
    for (const block of names) assert.ok(['sh', 'js'].includes(block.info), `${block.page}:${block.line} is ${block.info}`);
    const values = names.map((block) => block.marker!.value);
    assert.equal(new Set(values).size, values.length);
  });
});
