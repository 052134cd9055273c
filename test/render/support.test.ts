import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { parameterSupport, RENDERING_DOC, withCurrentTable } from '../../src/render/support.ts';

describe('the parameter support table', () => {
  it('the table of docs/rendering.md is current (regenerate it with npm run parameters)', () => {
    const page = fs.readFileSync(RENDERING_DOC, 'utf8');
    assert.equal(page, withCurrentTable(page));
  });

  it('lists every manifest parameter once, with statuses from the code', () => {
    const rows = parameterSupport();
    assert.equal(new Set(rows.map((row) => row.name)).size, rows.length);
    const status = (name: string) => rows.find((row) => row.name === name)?.status;
    assert.equal(status('w'), 'implemented');
    assert.equal(status('dl'), 'implemented');
    assert.equal(status('ch'), 'implemented');
    assert.equal(status('cs'), 'implemented');
    assert.equal(status('bg-remove'), 'fallback');
    assert.equal(status('video-codec'), 'video');
    assert.equal(status('video-clip-start'), 'video', 'the manifest\'s "video rendering" spelling too');
  });
});
