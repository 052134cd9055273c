import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { helpDefault } from '../../src/config/reference.ts';
import { CLIENT_SETTINGS, SETTINGS, type Setting } from '../../src/config/settings.ts';
import { cli } from '../helpers/cli.ts';

/** The help of the real CLI (its sources: a build in dist/ may be older), its lines' wrapping undone. */
async function help(...command: string[]): Promise<string> {
  const { stdout } = await cli([...command, '--help']);
  return stdout.replace(/\s+/g, ' ');
}

function assertListed(text: string, key: string, setting: Setting): void {
  if (setting.flag !== undefined) {
    assert.match(text, new RegExp(` ${setting.flag}(?: <[a-z]+>)? `), `${key}: its flag`);
    assert.ok(text.includes(`env ${setting.env}`), `${key}: its environment variable`);
  } else {
    assert.ok(text.includes(` ${setting.env} `), `${key}: its environment variable`);
  }
  const shown = helpDefault(setting);
  if (shown !== undefined) assert.ok(text.includes(`default ${shown}`), `${key}: its default, "${shown}"`);
}

describe('--help lists the settings from their declarations', () => {
  it('pictor serve --help shows every setting with its environment variable and default', async () => {
    const text = await help('serve');
    for (const [key, setting] of Object.entries(SETTINGS)) assertListed(text, key, setting);
    assert.match(text, /--render-concurrency <n> .*default \d+: cores \+ 1/, 'a computed default with its value on this machine');
    assert.match(text, /Environment only: PICTOR_SECRET_KEY /);
  });

  it('pictor purge --help shows --api and --key with their environment variables', async () => {
    const text = await help('purge');
    for (const [key, setting] of Object.entries(CLIENT_SETTINGS)) assertListed(text, key, setting);
  });

  it('the store commands show --data and --database as serve does', async () => {
    const text = await help('keys', 'list');
    assertListed(text, 'dataDir', SETTINGS.dataDir);
    assertListed(text, 'databaseUrl', SETTINGS.databaseUrl);
  });
});
