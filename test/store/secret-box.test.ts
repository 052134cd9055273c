import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeSecretKey, keyId, newSecretKey, SecretBox, SecretKeyError, sealedKeyId } from '../../src/store/secret-box.ts';
import { prependNewKey, readKeyFile } from '../../src/store/secret-keys.ts';

const isKeyError = (pattern: RegExp) => (error: unknown) => error instanceof SecretKeyError && pattern.test(error.message);

describe('SecretBox: AES-256-GCM with a version and a key id', () => {
  const key = newSecretKey();
  const box = new SecretBox({ keys: [key], origin: 'test' });

  it('seals to enc:v1:<key id>:… and opens back; the same plaintext seals differently each time', () => {
    const sealed = box.seal('s3cr3t-ü', 'secret_key of Source a');
    assert.match(sealed, /^enc:v1:[0-9a-f]{16}:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]+$/);
    assert.equal(sealedKeyId(sealed), keyId(key));
    assert.ok(!sealed.includes('s3cr3t'));
    assert.equal(box.open(sealed, 'secret_key of Source a'), 's3cr3t-ü');
    assert.notEqual(box.seal('s3cr3t-ü', 'secret_key of Source a'), sealed);
    assert.equal(sealedKeyId('plain text'), undefined);
  });

  it('a value opens only where it was stored (another field or Source is refused)', () => {
    const sealed = box.seal('token', 'secure_url_token of Source a');
    assert.throws(() => box.open(sealed, 'secure_url_token of Source b'), isKeyError(/does not decrypt with the key .*altered/));
  });

  it('refuses an altered value, a malformed one, and an unknown key id, with messages that say so', () => {
    const sealed = box.seal('value', 'c');
    const parts = sealed.split(':');
    const body = Buffer.from(parts[4]!, 'base64url');
    body[0]! ^= 1;
    parts[4] = body.toString('base64url');
    assert.throws(() => box.open(parts.join(':'), 'c'), isKeyError(/altered/));
    assert.throws(() => box.open('enc:v1:abc', 'c'), isKeyError(/not a value Pictor sealed/));
    const other = new SecretBox({ keys: [newSecretKey()], origin: 'PICTOR_SECRET_KEY' });
    assert.throws(() => other.open(sealed, 'c'), isKeyError(new RegExp(`encrypted with the key ${keyId(key)}, which is not among the keys of PICTOR_SECRET_KEY`)));
  });

  it('the first key seals, every key opens', () => {
    const older = newSecretKey();
    const sealedWithOlder = new SecretBox({ keys: [older], origin: 'test' }).seal('x', 'c');
    const ring = new SecretBox({ keys: [key, older], origin: 'test' });
    assert.equal(ring.open(sealedWithOlder, 'c'), 'x');
    assert.equal(sealedKeyId(ring.seal('y', 'c')), keyId(key));
  });

  it('meets an unknown key id by reloading its keys once, then seals with the new first key', () => {
    const rotated = newSecretKey();
    let reloads = 0;
    const running = new SecretBox({ keys: [key], origin: 'file', reload: () => (reloads++, [rotated, key]) });
    const sealedAfterRotation = new SecretBox({ keys: [rotated], origin: 'cli' }).seal('z', 'c');
    assert.equal(running.open(sealedAfterRotation, 'c'), 'z');
    assert.equal(reloads, 1);
    assert.equal(running.currentKeyId, keyId(rotated));
    const unknown = new SecretBox({ keys: [newSecretKey()], origin: 'x' }).seal('w', 'c');
    assert.throws(() => running.open(unknown, 'c'), SecretKeyError);
    assert.throws(() => running.open(unknown, 'c'), SecretKeyError);
    assert.equal(reloads, 2, 'one reload per unknown key id, not one per read');
  });

  it('reads 32-byte keys in hex and in base64 (standard or URL-safe), nothing else', () => {
    const raw = newSecretKey();
    assert.deepEqual(decodeSecretKey(raw.toString('hex')), raw);
    assert.deepEqual(decodeSecretKey(` ${raw.toString('base64')} `), raw);
    assert.deepEqual(decodeSecretKey(raw.toString('base64url')), raw);
    for (const bad of ['', 'short', raw.subarray(0, 31).toString('base64'), raw.toString('hex').slice(2), `${raw.toString('hex')}00`]) {
      assert.equal(decodeSecretKey(bad), undefined, bad);
    }
  });
});

describe('the key file', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pictor-keyfile-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, text: string, mode: number): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    fs.chmodSync(file, mode);
    return file;
  };

  it('one key per line, first = current; blank lines ignored', () => {
    const [a, b] = [newSecretKey(), newSecretKey()];
    const file = write('ok.key', `${a.toString('base64')}\n\n${b.toString('hex')}\n`, 0o600);
    assert.deepEqual(readKeyFile(file), [a, b]);
  });

  it('refuses a file that the group or others may read, naming the mode and the fix', () => {
    const file = write('open.key', `${newSecretKey().toString('base64')}\n`, 0o644);
    assert.throws(() => readKeyFile(file), isKeyError(/may be read by other users \(mode 0644\); allow only its owner: chmod 600 /));
    fs.chmodSync(file, 0o640);
    assert.throws(() => readKeyFile(file), isKeyError(/mode 0640/));
  });

  it('refuses a malformed or empty file, naming the line', () => {
    assert.throws(() => readKeyFile(write('bad.key', `${newSecretKey().toString('base64')}\nnot a key\n`, 0o600)), isKeyError(/bad\.key, line 2: not a 32-byte key/));
    assert.throws(() => readKeyFile(write('empty.key', '\n', 0o600)), isKeyError(/holds no key/));
  });

  it('a rotation puts a new key first, keeps the others, and keeps mode 0600', () => {
    const old = newSecretKey();
    const file = write('rotate.key', `${old.toString('base64')}\n`, 0o600);
    const { added, kept } = prependNewKey(file);
    const keys = readKeyFile(file);
    assert.equal(keys.length, 2);
    assert.equal(keyId(keys[0]!), added);
    assert.deepEqual(keys[1], old);
    assert.deepEqual(kept, [keyId(old)]);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  });
});
