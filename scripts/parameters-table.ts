/**
 * Rewrites the support table in docs/rendering.md (every imgix parameter and its status) from the manifest and the
 * code (src/render/support.ts). Run it after implementing a parameter: `npm run parameters`.
 */
import fs from 'node:fs';
import { RENDERING_DOC, withCurrentTable } from '../src/render/support.ts';

fs.writeFileSync(RENDERING_DOC, withCurrentTable(fs.readFileSync(RENDERING_DOC, 'utf8')));
console.log(`${RENDERING_DOC}: the parameter support table is current`);
