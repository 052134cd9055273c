import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { cliArgv } from '../helpers/cli.ts';
import { solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';

const exec = promisify(execFile);
const CLI = cliArgv([]);

/** util-linux `script` runs a command on a pseudo-terminal: the only way to give the CLI a real TTY stderr. */
const hasScript = process.platform === 'linux' && /util-linux/.test(spawnSync('script', ['--version'], { encoding: 'utf8' }).stdout ?? '');
const quote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;
const RESULT = /^accepted\s+\S+\s+id=\S+$/;

describe('pictor purge progress on stderr', () => {
  let t: TestPictor;
  let urls: string[];
  let env: NodeJS.ProcessEnv;
  before(async () => {
    t = await startPictor({ assets: { 'a.jpg': await solidImage(10, 10, [1, 1, 1]) }, options: { purgeRateLimit: '1000' } });
    urls = ['a.jpg', 'b.jpg', 'c.jpg'].map((name) => `${t.renderUrl}/${name}`);
    env = { ...process.env, PICTOR_API_KEY: t.apiKey };
  });
  after(() => t.stop());

  const purge = (targets: string[]) => exec(CLI[0]!, [...CLI.slice(1), 'purge', ...targets, '--api', t.adminUrl], { env });

  /** Runs the CLI with stderr on a terminal and stdout in a file; returns what the terminal showed, and the file. */
  const purgeOnTerminal = async (targets: string[]) => {
    const stdoutFile = path.join(t.dataDir, `stdout-${targets.length}.txt`);
    const command = `${[...CLI, 'purge', ...targets, '--api', t.adminUrl].map(quote).join(' ')} > ${quote(stdoutFile)}`;
    const { stdout: terminal } = await exec('script', ['--quiet', '--return', '--command', command, '/dev/null'], { env });
    return { terminal, stdout: await fs.readFile(stdoutFile, 'utf8') };
  };

  it('off a terminal, several URLs: plain progress lines ending at 3/3 on stderr, only the results on stdout', async () => {
    const { stdout, stderr } = await purge(urls);
    const [api, ...progress] = stderr.trimEnd().split('\n');
    assert.equal(api, `Pictor API: ${t.adminUrl}`, 'first, which Pictor the purges go to');
    assert.equal(progress[0], 'purging 0/3', 'the start says how many');
    assert.equal(progress.at(-1), 'purging 3/3', 'the last line says all were sent');
    for (const line of progress) assert.match(line, /^purging [0-3]\/3$/, 'plain lines: no bar, no escape codes');
    assert.ok(stderr.endsWith('3/3\n'), 'no blank line after the last');
    const results = stdout.trimEnd().split('\n');
    assert.equal(results.length, 3);
    results.forEach((line, i) => {
      assert.match(line, RESULT);
      assert.ok(line.includes(urls[i]!), 'in the order given');
    });
  });

  it('off a terminal, one URL: no progress on stderr, only which Pictor the purge goes to', async () => {
    const { stdout, stderr } = await purge(urls.slice(0, 1));
    assert.equal(stderr, `Pictor API: ${t.adminUrl}\n`);
    assert.match(stdout.trimEnd(), RESULT);
  });

  it('on a terminal, several URLs: the bar is drawn on stderr, stdout still carries only the results', { skip: !hasScript && 'needs util-linux script' }, async () => {
    const { terminal, stdout } = await purgeOnTerminal(urls);
    assert.match(terminal, /purging \[\u2588{40}\] 3\/3 /, 'a full bar at 3/3');
    assert.ok(terminal.includes('\u001b['), 'drawn in place with terminal escape codes');
    const results = stdout.trimEnd().split('\n');
    assert.equal(results.length, 3);
    for (const line of results) assert.match(line, RESULT);
  });

  it('on a terminal, one URL: no bar', { skip: !hasScript && 'needs util-linux script' }, async () => {
    const { terminal, stdout } = await purgeOnTerminal(urls.slice(0, 1));
    assert.equal(terminal.trimEnd(), `Pictor API: ${t.adminUrl}`);
    assert.match(stdout.trimEnd(), RESULT);
  });
});
