/**
 * The systemd unit of docs/production.md: `systemd-analyze verify` accepts it, and Pictor starts, renders,
 * purges and stops under the file system and privilege restrictions it sets. systemd itself is not running
 * here, so those restrictions are reproduced as systemd applies them: a private mount namespace where every
 * file system is read-only but the data directory, /dev, /proc and /sys (ProtectSystem=strict with
 * ReadWritePaths=), a private /tmp (PrivateTmp=yes), and `setpriv` for NoNewPrivileges=yes, an empty
 * CapabilityBoundingSet= and an unprivileged user (User=).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { solidImage } from '../helpers/pictor.ts';
import { spawnServer, type ServerProcess } from '../helpers/process.ts';
import { environmentFile, example } from './guide.ts';

const unit = example('systemd');
const settings = environmentFile(example('env'));

/** `Key=value` of the unit's [Service] section, each key's values in order. */
function directives(text: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (match) found.set(match[1]!, [...(found.get(match[1]!) ?? []), match[2]!]);
  }
  return found;
}

const analyzeMissing = spawnSync('systemd-analyze', ['--version']).status !== 0;

/** Runs `systemd-analyze verify` on `unitText` installed in a root of its own (with the units it names). */
function verify(unitText: string): { status: number | null; output: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pictor-systemd-'));
  try {
    fs.cpSync('/usr/lib/systemd/system', path.join(root, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
    fs.mkdirSync(path.join(root, 'etc/systemd/system'), { recursive: true });
    fs.writeFileSync(path.join(root, 'etc/systemd/system/pictor.service'), unitText);
    fs.mkdirSync(path.join(root, 'etc/pictor'));
    fs.writeFileSync(path.join(root, 'etc/pictor/pictor.env'), example('env'));
    // verify checks that ExecStart= names an executable; what it runs is not its concern.
    const exec = directives(unitText).get('ExecStart')![0]!.split(' ')[0]!;
    fs.mkdirSync(path.join(root, path.dirname(exec)), { recursive: true });
    fs.writeFileSync(path.join(root, exec), '#!/bin/sh\n', { mode: 0o755 });
    const result = spawnSync('systemd-analyze', ['verify', `--root=${root}`, 'pictor.service'], { encoding: 'utf8' });
    return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

describe('the systemd unit of docs/production.md', () => {
  it('passes systemd-analyze verify without a warning, which reports a misspelt directive', { skip: analyzeMissing && 'systemd-analyze is not installed (Debian package systemd): the unit is not verified' }, () => {
    const result = verify(unit);
    assert.equal(result.status, 0, result.output);
    assert.equal(result.output, '', 'systemd-analyze says nothing about the unit');

    // The check is not blind: a typo is reported (systemd-analyze still exits 0 for it, hence the output check).
    const typo = verify(unit.replace('ProtectSystem=strict', 'ProtectSystem=stricter'));
    assert.match(typo.output, /Failed to parse protect system value, ignoring: stricter/);
  });

  it('sets the restrictions that Pictor is started under below, and no MemoryDenyWriteExecute', () => {
    const set = directives(unit);
    assert.deepEqual(set.get('ProtectSystem'), ['strict']);
    assert.deepEqual(set.get('PrivateTmp'), ['yes']);
    assert.deepEqual(set.get('NoNewPrivileges'), ['yes']);
    assert.deepEqual(set.get('CapabilityBoundingSet'), ['']);
    assert.deepEqual(set.get('ReadWritePaths'), [settings.PICTOR_DATA_DIR], 'the data directory is the one writable path');
    assert.notEqual(set.get('User')?.[0] ?? 'root', 'root');
    assert.equal(set.get('MemoryDenyWriteExecute'), undefined, 'Node.js needs memory it can write and execute');
    assert.deepEqual(set.get('EnvironmentFile'), ['/etc/pictor/pictor.env']);
  });
});

const sandboxMissing =
  process.getuid?.() !== 0
    ? 'needs root, for a mount namespace and setpriv'
    : spawnSync('unshare', ['--mount', '--propagation', 'private', 'true']).status !== 0
      ? 'unshare --mount does not work here'
      : spawnSync('setpriv', ['--version']).status !== 0
        ? 'setpriv is not installed (util-linux)'
        : path.resolve(process.cwd()).startsWith(`${path.resolve(os.tmpdir())}/`)
          ? 'this checkout lies under /tmp, which the unit\'s private /tmp hides from Pictor'
          : false;

/**
 * The sandbox: `data` and `assets` appear at the unit's paths (PICTOR_DATA_DIR, PICTOR_ASSETS_DIR), /tmp is a
 * fresh tmpfs, every other mount is read-only (those under /mnt are left as they are), then the command runs
 * with no new privileges, no capabilities, as `uid`.
 */
const SANDBOX = `set -eu
data=$1 assets=$2 uid=$3 data_at=$4 assets_at=$5; shift 5
mount -t tmpfs -o mode=0755 pictor-data-parent "$(dirname "$data_at")"
mkdir "$data_at" && mount --bind "$data" "$data_at"
mount -t tmpfs -o mode=0755 pictor-assets-parent "$(dirname "$(dirname "$assets_at")")"
mkdir -p "$assets_at" && mount --bind "$assets" "$assets_at"
mount -t tmpfs -o mode=1777 pictor-private-tmp /tmp
for mp in $(awk '{print $5}' /proc/self/mountinfo); do
  # Mounts under the old /tmp (other tests' small file systems) are hidden by the fresh one.
  case "$mp" in /dev|/dev/*|/proc|/proc/*|/sys|/sys/*|/tmp|/tmp/*|/mnt/*|*\\\\*|"$data_at") continue ;; esac
  mount -o remount,bind,ro "$mp"
done
exec setpriv --reuid="$uid" --regid="$uid" --clear-groups --no-new-privs --bounding-set=-all --inh-caps=-all -- "$@"`;

describe('Pictor under the unit\'s restrictions', { skip: sandboxMissing }, () => {
  let work: string;
  let data: string;
  let assets: string;
  let uid: number;
  let server: ServerProcess | undefined;
  const sandboxed = (argv: string[]) => [
    'unshare', '--mount', '--propagation', 'private', 'sh', '-c', SANDBOX, 'sandbox',
    data, assets, String(uid), settings.PICTOR_DATA_DIR!, settings.PICTOR_ASSETS_DIR!, ...argv,
  ];

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'pictor-hardened-'));
    data = path.join(work, 'data');
    assets = path.join(work, 'assets');
    fs.mkdirSync(data, { mode: 0o700 });
    fs.mkdirSync(assets);
    fs.writeFileSync(path.join(assets, 'sunset.jpg'), await solidImage(120, 80, [220, 120, 40]));
    fs.writeFileSync(path.join(assets, 'mark.svg'), '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><circle cx="20" cy="20" r="18" fill="red"/></svg>');
    // The unit's User= is a system user; `nobody` stands for it when it can read this checkout.
    const nobody = ['--reuid=65534', '--regid=65534', '--clear-groups'];
    const nobodyReads = spawnSync('setpriv', [...nobody, 'test', '-r', 'src/cli/index.ts']).status === 0 &&
      spawnSync('setpriv', [...nobody, 'test', '-x', process.execPath]).status === 0;
    uid = nobodyReads ? 65534 : 0;
    fs.chownSync(data, uid, uid);
    fs.chmodSync(work, 0o755);
  });
  after(async () => {
    if (server && server.child.exitCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('starts, renders, purges, writes only its data directory and /tmp, and stops cleanly', async (t) => {
    if (uid === 0) t.diagnostic('this checkout is not readable by uid 65534: Pictor runs as root without capabilities');
    const probe = `for f in ${settings.PICTOR_ASSETS_DIR}/x /etc/x ${process.cwd()}/x /usr/x; do touch "$f" 2>/dev/null && echo "wrote $f"; done; ` +
      `touch ${settings.PICTOR_DATA_DIR}/x /tmp/x && echo writable`;
    const [command, ...args] = sandboxed(['sh', '-c', probe]);
    const inside = spawnSync(command!, args, { encoding: 'utf8' });
    assert.equal(inside.stdout.trim(), 'writable', `the sandbox is read-only but for the data directory and /tmp: ${inside.stdout}${inside.stderr}`);
    fs.rmSync(path.join(data, 'x'));

    const env = { ...settings, PICTOR_LOG_LEVEL: 'info', MALLOC_MMAP_THRESHOLD_: '1048576' };
    server = await spawnServer([], env, sandboxed);
    const render = await fetch(`${server.renderUrl}/sunset.jpg?w=60&fm=webp`);
    assert.equal(render.status, 200, await render.text());
    const text = await fetch(`${server.renderUrl}/sunset.jpg?w=100&txt=Hello&txt-size=20`);
    assert.equal(text.status, 200, 'text: fontconfig writes its file and cache in /tmp');
    const svg = await fetch(`${server.renderUrl}/mark.svg?w=20&fm=png`);
    assert.equal(svg.status, 200, 'an SVG, rasterised in a render process');

    const purge = await fetch(`${server.adminUrl}/api/v1/purge`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.apiKey}`, 'content-type': 'application/vnd.api+json' },
      body: JSON.stringify({ data: { type: 'purges', attributes: { url: 'https://img.example.com/sunset.jpg' } } }),
    });
    assert.equal(purge.status, 200, await purge.text());

    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0, server.output());
    assert.match(server.output(), /"msg":"stopped"/);
    const store = fs.statSync(path.join(data, 'pictor.db'));
    assert.equal(store.uid, uid, 'the store belongs to the service user');
    assert.equal(store.mode & 0o777, 0o600);
    assert.ok(fs.readdirSync(path.join(data, 'cache')).length > 0, 'the disk cache was written');
  });
});
