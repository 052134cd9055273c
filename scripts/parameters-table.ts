/**
 * Rewrites the support table in README.md (every imgix parameter and its status) from the manifest and the
 * code (src/render/support.ts). Run it after implementing a parameter: `npm run parameters`.
 */
import fs from 'node:fs';
import { withCurrentTable } from '../src/render/support.ts';

fs.writeFileSync('README.md', withCurrentTable(fs.readFileSync('README.md', 'utf8')));
console.log('README.md: the parameter support table is current');
