import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { REFERENCE_FILE, settingsTable, withCurrentTables } from '../../src/config/reference.ts';
import { CLIENT_SETTINGS, SETTINGS, type Setting } from '../../src/config/settings.ts';

const ALL: [string, Setting][] = [...Object.entries(SETTINGS), ...Object.entries(CLIENT_SETTINGS)];

describe('the configuration reference', () => {
  it('docs/configuration.md is current (regenerate it with npm run settings)', () => {
    const page = fs.readFileSync(REFERENCE_FILE, 'utf8');
    assert.equal(page, withCurrentTables(page));
  });

  it('has one row per setting, naming its flag, its environment variable and its default', () => {
    const table = settingsTable(SETTINGS).split('\n');
    assert.equal(table.length, 2 + Object.keys(SETTINGS).length);
    assert.ok(table.includes('| `--port` | `PICTOR_PORT` | `3000` | render listener port |'));
    const concurrency = table.find((row) => row.startsWith('| `--render-concurrency` |'));
    assert.match(concurrency ?? '', /^\| `--render-concurrency` \| `PICTOR_RENDER_CONCURRENCY` \| cores \+ 1 \|/, 'described');
    assert.ok(table.some((row) => row.startsWith('| — | `PICTOR_SECRET_KEY` |')), 'an environment-only setting has no flag');
    assert.ok(table.some((row) => row.startsWith('| `--folder-root` (repeatable) | `PICTOR_FOLDER_ROOTS` (separated like `PATH`')));
  });
});

describe('the settings table', () => {
  it('names every flag and environment variable once', () => {
    const flags = ALL.flatMap(([, setting]) => (setting.flag === undefined ? [] : [setting.flag]));
    const envs = ALL.map(([, setting]) => setting.env);
    assert.equal(new Set(flags).size, flags.length);
    assert.equal(new Set(envs).size, envs.length);
  });

  it('gives every setting a one-line help and a meaning, and a flag with a value a placeholder', () => {
    for (const [key, setting] of ALL) {
      assert.ok(setting.help.length > 0 && !setting.help.includes('\n'), key);
      assert.ok(setting.meaning.length > 0, key);
      if (setting.flag !== undefined && !('repeatable' in setting) && setting.placeholder === undefined) {
        assert.equal(setting.parse('true'), true, `${key}: a flag without a value is a switch, which means true`);
      }
    }
  });

  it('src/config imports nothing from the rest of src (render, store and the CLI depend on it, never the reverse)', () => {
    for (const file of fs.readdirSync(path.join('src', 'config'))) {
      const imports = [...fs.readFileSync(path.join('src', 'config', file), 'utf8').matchAll(/from '(\.[^']*)'/g)].map(([, target]) => target!);
      for (const target of imports) assert.ok(target.startsWith('./'), `src/config/${file} imports ${target}`);
    }
  });

  it('settings are read from the environment only by src/config (native libraries\' variables are set through it)', () => {
    const readers: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(file);
        else if (!file.startsWith(path.join('src', 'config')) && fs.readFileSync(file, 'utf8').includes('process.env')) readers.push(file);
      }
    };
    walk('src');
    assert.deepEqual(readers, []);
  });
});
