/**
 * FileKeyring: created owner-only, refused when others can read it, rotated atomically under a lock,
 * reread when another process rotated, and wrapping that opens only for the object it was made for.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { isStorageError, type StorageErrorCode } from '../../../src/server/storage/errors.js';
import { FileKeyring } from '../../../src/server/storage/keyring.js';
import { tempDir, text } from './support.js';

const code = (c: StorageErrorCode) => (e: unknown) => isStorageError(e, c);

interface KeyringJson {
  format: string;
  keyId: string;
  current: number;
  versions: Array<{ id: string; version: number; key: string; createdAt: string }>;
}

describe('FileKeyring', () => {
  let root: string;
  let dir: string;
  let path: string;

  beforeEach(async () => {
    root = await tempDir('keyring');
    dir = join(root, 'regions', 'eu');
    path = join(dir, 'keyring.json');
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const open = (options: { reloadIntervalMs?: number; keyId?: string } = {}) => FileKeyring.open({ dir, keyId: 'eu-kek', ...options });
  const readJson = async () => JSON.parse(await readFile(path, 'utf8')) as KeyringJson;

  it('is created on first use: one current version, file 0600 in a directory 0700', async () => {
    const previous = process.umask(0);
    try {
      await open();
    } finally {
      process.umask(previous);
    }
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    assert.equal((await stat(join(root, 'regions'))).mode & 0o777, 0o700);
    const file = await readJson();
    assert.equal(file.format, 'examvault-keyring/1');
    assert.equal(file.keyId, 'eu-kek');
    assert.equal(file.current, 1);
    assert.equal(file.versions.length, 1);
    const [v1] = file.versions;
    assert.equal(v1?.id, 'eu-kek');
    assert.equal(v1?.version, 1);
    assert.equal(Buffer.from(v1?.key ?? '', 'base64').length, 32);
    assert.ok(!Number.isNaN(Date.parse(v1?.createdAt ?? '')));
    assert.deepEqual((await readdir(dir)).sort(), ['keyring.json']);
  });

  it('wraps keys that reopen only with the same additional data, in any instance', async () => {
    const first = await open();
    const dek = randomBytes(32);
    const wrapped = await first.wrapKey(dek, text('object a'));
    assert.deepEqual({ keyId: wrapped.keyId, version: wrapped.version, length: wrapped.wrapped.length }, { keyId: 'eu-kek', version: 1, length: 60 });
    const second = await open();
    assert.deepEqual(await second.unwrapKey(wrapped, text('object a')), new Uint8Array(dek));
    assert.equal(await second.unwrapKey(wrapped, text('object b')), null);
    const tampered = Uint8Array.from(wrapped.wrapped);
    tampered[20] = (tampered[20] as number) ^ 1;
    assert.equal(await second.unwrapKey({ ...wrapped, wrapped: tampered }, text('object a')), null);
    assert.equal(await second.unwrapKey({ ...wrapped, wrapped: wrapped.wrapped.subarray(1) }, text('object a')), null);
    await assert.rejects(second.unwrapKey({ ...wrapped, keyId: 'us-kek' }, text('object a')), code('EV_ERR_KEYRING_UNKNOWN_KEY'));
    await assert.rejects(second.unwrapKey({ ...wrapped, version: 7 }, text('object a')), code('EV_ERR_KEYRING_UNKNOWN_KEY'));
    await assert.rejects(first.wrapKey(randomBytes(16), text('x')), RangeError);
  });

  it('refuses a keyring file group or others can access', async () => {
    await open();
    for (const mode of [0o640, 0o604, 0o660, 0o606, 0o610, 0o601, 0o644]) {
      await chmod(path, mode);
      await assert.rejects(open(), (e: unknown) => {
        assert.ok(isStorageError(e, 'EV_ERR_KEYRING_PERMISSIONS'), String(e));
        assert.match((e as Error).message, /chmod 600/);
        return true;
      });
    }
    await chmod(path, 0o600);
    await open();
    await chmod(path, 0o400);
    await open();
  });

  it('refuses a malformed keyring file, and one of another region', async () => {
    const good = await (async () => {
      await open();
      return readJson();
    })();
    const [v1] = good.versions;
    assert.ok(v1);
    const cases: Array<[string, string]> = [
      ['not JSON', '{"format":'],
      ['null', 'null'],
      ['wrong format', JSON.stringify({ ...good, format: 'other/1' })],
      ['no versions', JSON.stringify({ ...good, versions: [] })],
      ['short key', JSON.stringify({ ...good, versions: [{ ...v1, key: randomBytes(16).toString('base64') }] })],
      ['duplicate version', JSON.stringify({ ...good, versions: [v1, v1] })],
      ['current missing', JSON.stringify({ ...good, current: 2 })],
      ['entry of another id', JSON.stringify({ ...good, versions: [{ ...v1, id: 'us-kek' }] })],
      ['version 0', JSON.stringify({ ...good, current: 0, versions: [{ ...v1, version: 0 }] })],
    ];
    for (const [label, content] of cases) {
      await writeFile(path, content, { mode: 0o600 });
      await assert.rejects(open(), code('EV_ERR_KEYRING_MALFORMED'), label);
    }
    await writeFile(path, JSON.stringify({ ...good, keyId: 'us-kek', versions: [{ ...v1, id: 'us-kek' }] }), { mode: 0o600 });
    await assert.rejects(open(), code('EV_ERR_KEYRING_MISMATCH'));
    await assert.rejects(FileKeyring.open({ dir, keyId: 'EU KEK' }), RangeError);
  });

  it('rotates atomically: a new current version, old ones kept, still 0600, nothing left behind', async () => {
    const keyring = await open();
    const dek = randomBytes(32);
    const old = await keyring.wrapKey(dek, text('k'));
    const before = await stat(path);
    assert.equal(await keyring.rotate(), 2);
    const after = await stat(path);
    assert.notEqual(after.ino, before.ino, 'replaced by rename, not rewritten in place');
    assert.equal(after.mode & 0o777, 0o600);
    assert.deepEqual((await readdir(dir)).sort(), ['keyring.json']);
    const file = await readJson();
    assert.equal(file.current, 2);
    assert.deepEqual(file.versions.map((v) => v.version), [1, 2]);
    assert.notEqual(file.versions[0]?.key, file.versions[1]?.key);
    assert.deepEqual(await keyring.current(), { keyId: 'eu-kek', version: 2 });
    assert.equal((await keyring.wrapKey(dek, text('k'))).version, 2);
    assert.deepEqual(await keyring.unwrapKey(old, text('k')), new Uint8Array(dek));
    assert.deepEqual((await keyring.versions()).map((v) => [v.version, v.current]), [[1, false], [2, true]]);
  });

  it('serializes concurrent rotations in one process', async () => {
    const keyring = await open();
    assert.deepEqual((await Promise.all([keyring.rotate(), keyring.rotate(), keyring.rotate()])).sort(), [2, 3, 4]);
    assert.deepEqual((await readJson()).versions.map((v) => v.version), [1, 2, 3, 4]);
  });

  it('removes old versions but never the current one', async () => {
    const keyring = await open();
    const wrapped = await keyring.wrapKey(randomBytes(32), text('k'));
    await assert.rejects(keyring.removeVersion(1), code('EV_ERR_KEYRING_CURRENT_VERSION'));
    await keyring.rotate();
    await keyring.removeVersion(1);
    await keyring.removeVersion(1); // already gone: nothing to do
    assert.deepEqual((await readJson()).versions.map((v) => v.version), [2]);
    await assert.rejects(keyring.unwrapKey(wrapped, text('k')), code('EV_ERR_KEYRING_UNKNOWN_KEY'));
    assert.equal(await keyring.rotate(), 3);
  });

  it('rereads the file for a version it does not know, and notices a new current version', async () => {
    const server = await open({ reloadIntervalMs: 3_600_000 });
    const cli = await open();
    await cli.rotate();
    const dek = randomBytes(32);
    const byCli = await cli.wrapKey(dek, text('k'));
    assert.equal(byCli.version, 2);
    assert.deepEqual(await server.unwrapKey(byCli, text('k')), new Uint8Array(dek));
    const polling = await open({ reloadIntervalMs: 0 });
    await cli.rotate();
    assert.deepEqual(await polling.current(), { keyId: 'eu-kek', version: 3 });
    assert.equal((await polling.wrapKey(dek, text('k'))).version, 3);
  });

  it('refuses to change while another live process holds the lock, and takes over a dead one', async () => {
    const keyring = await open();
    await writeFile(`${path}.lock`, `${process.pid}\n`);
    await assert.rejects(keyring.rotate(), code('EV_ERR_KEYRING_LOCKED'));
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    assert.ok(dead);
    await writeFile(`${path}.lock`, `${dead}\n`);
    assert.equal(await keyring.rotate(), 2);
    assert.deepEqual((await readdir(dir)).sort(), ['keyring.json']);
  });

  it('removes the temporary copy a crash mid-rotation left (it holds keys)', async () => {
    await open();
    const leftover = join(dir, '.keyring.json.tmp-0123456789abcdef-0');
    await writeFile(leftover, await readFile(path), { mode: 0o600 });
    await writeFile(join(dir, 'unrelated'), 'kept');
    await open();
    assert.deepEqual((await readdir(dir)).sort(), ['keyring.json', 'unrelated']);
  });
});
