/**
 * Rewrites the settings tables of docs/configuration.md from the settings' declarations
 * (src/config/settings.ts). Run it after adding or changing a setting: `npm run settings`.
 * test/config/reference.test.ts fails when the committed page is out of date.
 */
import fs from 'node:fs';
import { REFERENCE_FILE, withCurrentTables } from '../src/config/reference.ts';

fs.writeFileSync(REFERENCE_FILE, withCurrentTables(fs.readFileSync(REFERENCE_FILE, 'utf8')));
console.log(`${REFERENCE_FILE}: the settings tables are current`);
