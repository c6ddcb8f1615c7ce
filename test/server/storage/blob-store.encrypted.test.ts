/**
 * EncryptedBlobStore: the shared contract (over FsBlobStore in a temp dir), then what at-rest
 * encryption promises — nothing stored is plaintext, nothing moved or modified opens, rotation
 * re-wraps key records without touching sealed objects, a shred leaves only noise, and a crash between
 * the two writes leaves nothing readable by half.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { decodeKeyRecord, importDataKey, openObject, SEALED_OVERHEAD } from '../../../src/server/storage/at-rest.js';
import { EncryptedBlobStore } from '../../../src/server/storage/blob-store.encrypted.js';
import { isStorageError } from '../../../src/server/storage/errors.js';
import { FileKeyring } from '../../../src/server/storage/keyring.js';
import { assertBytes, blobStoreContract, collect } from './blob-store.contract.js';
import { type EncryptedFixture, openEncrypted, tempDir, text } from './support.js';

blobStoreContract('EncryptedBlobStore over FsBlobStore', async () => {
  const dir = await tempDir('enc');
  const { store } = await openEncrypted(dir);
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

const integrity = (e: unknown) => isStorageError(e, 'EV_ERR_AT_REST_INTEGRITY');
const unknownKey = (e: unknown) => isStorageError(e, 'EV_ERR_KEYRING_UNKNOWN_KEY');

/** A plaintext that looks like media: a WebM magic number, then a recognisable repeated text. */
function mediaLike(size: number): Uint8Array {
  const out = Buffer.alloc(size);
  out.set([0x1a, 0x45, 0xdf, 0xa3], 0);
  out.write('EXAMVAULT-PLAINTEXT-'.repeat(Math.ceil(size / 20)), 4, 'latin1');
  return out;
}

async function filesBelow(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(join(entry.parentPath, entry.name));
  }
  return out;
}

async function raw(fx: EncryptedFixture, key: string): Promise<{ object: Uint8Array; record: Uint8Array }> {
  const object = await fx.objects.get(key);
  const record = await fx.records.get(key);
  assert.ok(object && record, `${key} should be stored`);
  return { object, record };
}

function flip(bytes: Uint8Array, at: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[at] = (copy[at] as number) ^ 0x01;
  return copy;
}

describe('EncryptedBlobStore at rest', () => {
  let dir: string;
  let fx: EncryptedFixture;

  beforeEach(async () => {
    dir = await tempDir('enc-rest');
    fx = await openEncrypted(dir);
  });

  afterEach(async () => {
    await fx.store.close();
    await rm(dir, { recursive: true, force: true });
  });

  describe('what is stored', () => {
    it('is ciphertext: no plaintext substring, no media magic, 33 bytes of overhead', async () => {
      const plaintext = mediaLike(64 * 1024);
      await fx.store.put('rec/1/seg/0', plaintext);
      const { object, record } = await raw(fx, 'rec/1/seg/0');
      assert.equal(object.length, plaintext.length + SEALED_OVERHEAD);
      assert.equal(Buffer.from(object.subarray(0, 5)).toString('latin1'), 'EVAD\x01');
      const stored = Buffer.from(object);
      for (let at = 0; at + 16 <= plaintext.length; at += 16) {
        assert.equal(stored.indexOf(plaintext.subarray(at, at + 16)), -1, `plaintext bytes ${at}..${at + 16} appear in the sealed object`);
      }
      assert.equal(Buffer.from(record.subarray(0, 5)).toString('latin1'), 'EVAK\x01');
      assert.ok(record.length < 100, `a key record is small (${record.length} bytes)`);
      for (const file of await filesBelow(dir)) {
        const bytes = await readFile(file);
        assert.equal(bytes.indexOf('EXAMVAULT-PLAINTEXT'), -1, `${file} holds plaintext`);
        assert.equal(bytes.indexOf(Buffer.from([0x1a, 0x45, 0xdf, 0xa3])), -1, `${file} holds the WebM magic`);
      }
      assertBytes(await fx.store.get('rec/1/seg/0'), plaintext);
    });

    it('seals the same plaintext differently each time, and keeps the key record on overwrite', async () => {
      const plaintext = text('same bytes twice');
      await fx.store.put('a', plaintext);
      const first = await raw(fx, 'a');
      await fx.store.put('a', plaintext);
      const second = await raw(fx, 'a');
      assert.notDeepEqual(first.object, second.object);
      // An overwrite is one atomic put of the sealed object: the data key, and its record, stay.
      assert.deepEqual(second.record, first.record);
      await fx.store.put('b', plaintext);
      assert.notDeepEqual((await raw(fx, 'b')).record.subarray(-60), first.record.subarray(-60));
    });

    it('keeps key records out of list', async () => {
      await fx.store.put('rec/1/a', text('1'));
      await fx.store.put('rec/1/b', text('2'));
      assert.deepEqual(await collect(fx.store.list('')), ['rec/1/a', 'rec/1/b']);
      assert.deepEqual(await collect(fx.records.list('')), ['rec/1/a', 'rec/1/b']);
    });

    it('names the key id and version in the record', async () => {
      await fx.store.put('k', text('x'));
      const record = decodeKeyRecord((await raw(fx, 'k')).record);
      assert.ok(record);
      assert.equal(record.keyId, 'eu-kek');
      assert.equal(record.version, 1);
      assert.equal(record.wrapped.length, 60);
    });
  });

  describe('integrity', () => {
    beforeEach(async () => {
      await fx.store.put('rec/1/seg/0', mediaLike(5000));
      await fx.store.put('rec/1/seg/1', mediaLike(7000));
    });

    it('refuses two sealed objects swapped', async () => {
      const a = await raw(fx, 'rec/1/seg/0');
      const b = await raw(fx, 'rec/1/seg/1');
      await fx.objects.put('rec/1/seg/0', b.object);
      await fx.objects.put('rec/1/seg/1', a.object);
      await assert.rejects(fx.store.get('rec/1/seg/0'), integrity);
      await assert.rejects(fx.store.get('rec/1/seg/1'), integrity);
    });

    it('refuses two key records swapped, and a whole pair moved to another key', async () => {
      const a = await raw(fx, 'rec/1/seg/0');
      const b = await raw(fx, 'rec/1/seg/1');
      await fx.records.put('rec/1/seg/0', b.record);
      await fx.records.put('rec/1/seg/1', a.record);
      await assert.rejects(fx.store.get('rec/1/seg/0'), integrity);
      await fx.objects.put('rec/2/seg/0', a.object);
      await fx.records.put('rec/2/seg/0', a.record);
      await assert.rejects(fx.store.get('rec/2/seg/0'), integrity);
    });

    it('refuses any modified byte of a sealed object, with one opaque error', async () => {
      const { object } = await raw(fx, 'rec/1/seg/0');
      const messages = new Set<string>();
      for (const at of [0, 3, 4, 5, 16, 17, 1000, object.length - 17, object.length - 1]) {
        await fx.objects.put('rec/1/seg/0', flip(object, at));
        await assert.rejects(fx.store.get('rec/1/seg/0'), (e: unknown) => {
          assert.ok(integrity(e), `byte ${at}: ${String(e)}`);
          messages.add((e as Error).message);
          return true;
        });
      }
      for (const cut of [object.subarray(0, object.length - 1), object.subarray(0, 20), new Uint8Array(0)]) {
        await fx.objects.put('rec/1/seg/0', cut);
        await assert.rejects(fx.store.get('rec/1/seg/0'), integrity);
      }
      assert.equal(messages.size, 1);
    });

    it('refuses a modified, truncated or extended key record', async () => {
      const { record } = await raw(fx, 'rec/1/seg/0');
      const variants = [
        flip(record, 0),
        flip(record, 4),
        flip(record, 5),
        flip(record, record.length - 1),
        flip(record, record.length - 30),
        record.subarray(0, record.length - 1),
        Buffer.concat([record, Buffer.from([0])]),
        new Uint8Array(0),
      ];
      for (const variant of variants) {
        await fx.records.put('rec/1/seg/0', variant);
        await assert.rejects(fx.store.get('rec/1/seg/0'), integrity);
      }
      // Naming a key the keyring does not hold is its own error: the key is gone, or from elsewhere.
      const otherVersion = Uint8Array.from(record);
      otherVersion[6 + 6 + 3] = 99;
      await fx.records.put('rec/1/seg/0', otherVersion);
      await assert.rejects(fx.store.get('rec/1/seg/0'), unknownKey);
      await assert.rejects(fx.store.put('rec/1/seg/0', text('over a broken record')), unknownKey);
    });

    it('refuses to overwrite an object whose key record is tampered', async () => {
      const { record } = await raw(fx, 'rec/1/seg/0');
      await fx.records.put('rec/1/seg/0', flip(record, record.length - 1));
      await assert.rejects(fx.store.put('rec/1/seg/0', text('new')), integrity);
      await fx.store.delete('rec/1/seg/0');
      await fx.store.put('rec/1/seg/0', text('new'));
      assertBytes(await fx.store.get('rec/1/seg/0'), text('new'));
    });
  });

  describe('rotation', () => {
    it('re-wraps key records without rewriting sealed objects', async () => {
      const v1Data = mediaLike(100_000);
      await fx.store.put('rec/1/seg/0', v1Data);
      assert.equal(await fx.keyring.rotate(), 2);
      const v2Data = randomBytes(50_000);
      await fx.store.put('rec/1/seg/1', v2Data);
      assert.equal(decodeKeyRecord((await raw(fx, 'rec/1/seg/0')).record)?.version, 1);
      assert.equal(decodeKeyRecord((await raw(fx, 'rec/1/seg/1')).record)?.version, 2);
      assertBytes(await fx.store.get('rec/1/seg/0'), v1Data);
      assertBytes(await fx.store.get('rec/1/seg/1'), v2Data);

      const objectFiles = ['rec/1/seg/0+', 'rec/1/seg/1+'].map((f) => join(dir, 'objects', f));
      const before = await Promise.all(objectFiles.map(async (f) => ({ bytes: await readFile(f), stat: await stat(f) })));
      const recordBefore = await stat(join(dir, 'key-records', 'rec/1/seg/0+'));

      assert.deepEqual(await fx.store.rewrapAll(), { rewrapped: 1, upToDate: 1, failed: [] });

      for (const [i, f] of objectFiles.entries()) {
        const now = await stat(f);
        const then = before[i] as (typeof before)[number];
        assert.deepEqual(await readFile(f), then.bytes, `${f} bytes changed`);
        assert.equal(now.ino, then.stat.ino, `${f} was replaced`);
        assert.equal(now.mtimeMs, then.stat.mtimeMs, `${f} was written`);
      }
      assert.notEqual((await stat(join(dir, 'key-records', 'rec/1/seg/0+'))).ino, recordBefore.ino, 'the old record was rewritten');
      for (const key of ['rec/1/seg/0', 'rec/1/seg/1']) assert.equal(decodeKeyRecord((await raw(fx, key)).record)?.version, 2);

      await fx.keyring.removeVersion(1);
      assert.deepEqual((await fx.keyring.versions()).map((v) => v.version), [2]);
      assertBytes(await fx.store.get('rec/1/seg/0'), v1Data);
      assertBytes(await fx.store.get('rec/1/seg/1'), v2Data);
      assert.deepEqual(await fx.store.rewrapAll(), { rewrapped: 0, upToDate: 2, failed: [] });
    });

    it('loses what was not re-wrapped when its version is removed (why rewrapAll comes first)', async () => {
      await fx.store.put('old', text('under v1'));
      await fx.keyring.rotate();
      await fx.keyring.removeVersion(1);
      await assert.rejects(fx.store.get('old'), unknownKey);
    });

    it('re-wraps only under the prefix, and reports records it cannot open', async () => {
      await fx.store.put('rec/1/a', text('a'));
      await fx.store.put('rec/1/b', text('b'));
      await fx.store.put('rec/2/a', text('c'));
      const { record } = await raw(fx, 'rec/1/b');
      await fx.records.put('rec/1/b', flip(record, record.length - 1));
      await fx.keyring.rotate();
      const result = await fx.store.rewrapAll('rec/1/');
      assert.deepEqual(result, { rewrapped: 1, upToDate: 0, failed: [{ key: 'rec/1/b', code: 'EV_ERR_AT_REST_INTEGRITY' }] });
      assert.equal(decodeKeyRecord((await raw(fx, 'rec/2/a')).record)?.version, 1);
    });

    it('sees a rotation made by another process: reads its versions, and wraps under the new current', async () => {
      const keyringDir = join(dir, 'keyring');
      // The server's keyring checks for a new current version every time; the CLI's is another instance.
      const server = await FileKeyring.open({ dir: keyringDir, keyId: 'eu-kek', reloadIntervalMs: 0 });
      const cli = await FileKeyring.open({ dir: keyringDir, keyId: 'eu-kek', reloadIntervalMs: 3_600_000 });
      const serverStore = new EncryptedBlobStore({ objects: fx.objects, keyRecords: fx.records, keyring: server });
      const cliStore = new EncryptedBlobStore({ objects: fx.objects, keyRecords: fx.records, keyring: cli });
      await serverStore.put('before', text('v1'));
      await cli.rotate();
      await cliStore.put('by-cli', text('v2 by the CLI'));
      assertBytes(await serverStore.get('by-cli'), text('v2 by the CLI'));
      await serverStore.put('after', text('v2 by the server'));
      assert.equal(decodeKeyRecord((await raw(fx, 'after')).record)?.version, 2);
      // The CLI's instance, checking rarely, still reads what the server wrapped under a version it
      // learned about only now: an unknown version makes it reread the file.
      await server.rotate();
      await serverStore.put('v3', text('v3'));
      assertBytes(await cliStore.get('v3'), text('v3'));
    });
  });

  describe('shredding', () => {
    it('destroys the key record, so a surviving copy of the sealed object is noise', async () => {
      const plaintext = mediaLike(20_000);
      await fx.store.put('rec/9/seg/0', plaintext);
      const backup = await raw(fx, 'rec/9/seg/0');
      await fx.store.shred('rec/9/seg/0');
      assert.equal(await fx.store.get('rec/9/seg/0'), null);
      assert.equal(await fx.objects.get('rec/9/seg/0'), null);
      assert.equal(await fx.records.get('rec/9/seg/0'), null);

      // A backup of the sealed object comes back: it does not read, and no key in the keyring opens it.
      await fx.objects.put('rec/9/seg/0', backup.object);
      assert.equal(await fx.store.get('rec/9/seg/0'), null);
      const ring = JSON.parse(await readFile(join(dir, 'keyring', 'keyring.json'), 'utf8')) as { versions: Array<{ key: string }> };
      for (const version of ring.versions) {
        const asDataKey = await importDataKey(Buffer.from(version.key, 'base64'));
        assert.equal(await openObject(asDataKey, 'rec/9/seg/0', backup.object), null);
      }
      assert.deepEqual(await fx.store.sweepOrphans(), { objects: 1, records: 0 });
      assert.deepEqual(await collect(fx.store.list('')), []);
    });

    it('is undone by a backup of the key record: record backups need a short retention', async () => {
      await fx.store.put('k', text('secret'));
      const backup = await raw(fx, 'k');
      await fx.store.shred('k');
      await fx.objects.put('k', backup.object);
      await fx.records.put('k', backup.record);
      assertBytes(await fx.store.get('k'), text('secret'));
    });
  });

  describe('a crash between the two writes', () => {
    it('leaves a sealed object without a record: unreadable, listed until swept', async () => {
      await fx.store.put('first/put', text('interrupted'));
      await fx.records.delete('first/put'); // as if killed after the object, before the record
      assert.equal(await fx.store.get('first/put'), null);
      assert.deepEqual(await collect(fx.store.list('first/')), ['first/put']);
      await fx.store.put('first/put', text('retried'));
      assertBytes(await fx.store.get('first/put'), text('retried'));
      await fx.records.delete('first/put');
      assert.deepEqual(await fx.store.sweepOrphans('first/'), { objects: 1, records: 0 });
      assert.deepEqual(await collect(fx.store.list('')), []);
    });

    it('leaves a record without an object: unreadable, reused by the next put, or swept', async () => {
      await fx.store.put('a', text('one'));
      await fx.store.put('b', text('two'));
      const { record } = await raw(fx, 'a');
      await fx.objects.delete('a');
      await fx.objects.delete('b');
      assert.equal(await fx.store.get('a'), null);
      await fx.store.put('a', text('three'));
      assertBytes(await fx.store.get('a'), text('three'));
      assert.deepEqual((await raw(fx, 'a')).record, record);
      assert.deepEqual(await fx.store.sweepOrphans(), { objects: 0, records: 1 });
      assert.equal(await fx.records.get('b'), null);
    });
  });
});
