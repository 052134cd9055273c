/**
 * Writes docs/parameters.md, the support table of every imgix parameter, from the manifest and the code
 * (src/render/support.ts). Run it after implementing a parameter: `node --import tsx scripts/parameters-table.ts`.
 */
import fs from 'node:fs';
import { parametersMarkdown } from '../src/render/support.ts';

fs.mkdirSync('docs', { recursive: true });
fs.writeFileSync('docs/parameters.md', parametersMarkdown());
console.log('docs/parameters.md written');
