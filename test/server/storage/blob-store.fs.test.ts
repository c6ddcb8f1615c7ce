/**
 * FsBlobStore: the shared contract, then what only a filesystem store has — its layout on disk, the
 * permissions of what it creates, the leftovers of a crash, per-key ordering and group commit.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FsBlobStore } from '../../../src/server/storage/blob-store.fs.js';
import { assertBytes, blobStoreContract, collect } from './blob-store.contract.js';
import { tempDir, text, tree } from './support.js';

blobStoreContract('FsBlobStore', async () => {
  const root = await tempDir('fs');
  const store = await FsBlobStore.open(join(root, 'blobs'));
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(root, { recursive: true, force: true });
    },
  };
});

describe('FsBlobStore on disk', () => {
  let root: string;
  before(async () => {
    root = await tempDir('fs-disk');
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('maps key segments to directories, object files ending in +', async () => {
    const dir = join(root, 'layout');
    const store = await FsBlobStore.open(dir);
    await store.put('rec/42/seg/000001', text('a'));
    await store.put('rec/42', text('b'));
    await store.put(`long/${'x'.repeat(450)}`, text('c'));
    await store.close();
    assert.deepEqual(await tree(dir), [
      'long/',
      `long/${'x'.repeat(200)}=/`,
      `long/${'x'.repeat(200)}=/${'x'.repeat(200)}=/`,
      `long/${'x'.repeat(200)}=/${'x'.repeat(200)}=/${'x'.repeat(50)}+`,
      'rec/',
      'rec/42+',
      'rec/42/',
      'rec/42/seg/',
      'rec/42/seg/000001+',
    ]);
  });

  it('creates files 0600 and directories 0700, whatever the umask', async () => {
    const previous = process.umask(0);
    try {
      const dir = join(root, 'modes', 'nested-root');
      const store = await FsBlobStore.open(dir);
      await store.put('a/b/c', text('secret'));
      await store.close();
      assert.equal((await stat(join(root, 'modes'))).mode & 0o777, 0o700);
      assert.equal((await stat(dir)).mode & 0o777, 0o700);
      assert.equal((await stat(join(dir, 'a'))).mode & 0o777, 0o700);
      assert.equal((await stat(join(dir, 'a', 'b'))).mode & 0o777, 0o700);
      assert.equal((await stat(join(dir, 'a', 'b', 'c+'))).mode & 0o777, 0o600);
    } finally {
      process.umask(previous);
    }
  });

  it('hides the temporary files a crash left, and removes them on open', async () => {
    const dir = join(root, 'leftovers');
    const first = await FsBlobStore.open(dir);
    await first.put('rec/1/seg/0', text('kept'));
    await first.put('.tmp-looks-like-temp', text('a real object whose key starts like a temp file'));
    await first.put('.tmp-dir/x', text('an object below a directory named like a temp file'));
    await first.close();
    // What a writer killed between open and rename leaves behind.
    await writeFile(join(dir, '.tmp-0123456789abcdef-0'), 'partial');
    await writeFile(join(dir, 'rec', '1', 'seg', '.tmp-0123456789abcdef-1'), randomBytes(1000));
    await writeFile(join(dir, 'rec', '1', 'seg', '.tmp-fedcba9876543210-7'), '');
    // And foreign files the store must not mistake for objects.
    await writeFile(join(dir, 'rec', 'README'), 'not an object');
    await mkdir(join(dir, 'rec', 'bad name'));
    await writeFile(join(dir, 'rec', 'bad name', 'x+'), 'not a valid key');

    const store = await FsBlobStore.open(dir);
    assert.deepEqual(await collect(store.list('')), ['.tmp-dir/x', '.tmp-looks-like-temp', 'rec/1/seg/0']);
    assert.equal(await store.get('rec/README'), null);
    assert.equal(await store.swept, 3);
    const left = await tree(dir);
    assert.deepEqual(left.filter((p) => /(^|\/)\.tmp-[0-9a-f]{16}-/.test(p)), []);
    assert.ok(left.includes('.tmp-looks-like-temp+'));
    assertBytes(await store.get('rec/1/seg/0'), text('kept'));
    assertBytes(await store.get('.tmp-dir/x'), text('an object below a directory named like a temp file'));
    await store.close();
  });

  it('leaves no temporary file behind after puts, overwrites and deletes', async () => {
    const dir = join(root, 'clean');
    const store = await FsBlobStore.open(dir);
    await Promise.all(Array.from({ length: 40 }, (_, i) => store.put(`k/${i % 5}`, randomBytes(1000 + i))));
    await store.delete('k/0');
    await store.close();
    assert.deepEqual(await tree(dir), ['k/', 'k/1+', 'k/2+', 'k/3+', 'k/4+']);
  });

  it('applies operations on one key in the order they were called', async () => {
    const store = await FsBlobStore.open(join(root, 'order'));
    // Decreasing sizes: later puts finish writing first, yet the last one called must win.
    const values = Array.from({ length: 12 }, (_, i) => randomBytes((12 - i) * 100_000));
    await Promise.all(values.map((v) => store.put('k', v)));
    assertBytes(await store.get('k'), values.at(-1) as Uint8Array);
    await Promise.all([store.put('k', randomBytes(2_000_000)), store.delete('k')]);
    assert.equal(await store.get('k'), null);
    await store.close();
  });

  it('group-commits directory fsyncs across concurrent puts', async () => {
    const store = await FsBlobStore.open(join(root, 'group'));
    await store.put('seg/warm', text('creates the directory'));
    const before = store.syncStats;
    await Promise.all(Array.from({ length: 100 }, (_, i) => store.put(`seg/${i}`, randomBytes(50_000))));
    const after = store.syncStats;
    const requests = after.requests - before.requests;
    const fsyncs = after.fsyncs - before.fsyncs;
    assert.equal(requests, 100);
    assert.ok(fsyncs < 50, `expected batching, got ${fsyncs} directory fsyncs for 100 puts`);
    await store.close();
  });

  it('reads an object written by a previous process, and resumes in an existing tree', async () => {
    const dir = join(root, 'reopen');
    const first = await FsBlobStore.open(dir);
    await first.put('a/b', text('one'));
    await first.close();
    const second = await FsBlobStore.open(dir);
    assertBytes(await second.get('a/b'), text('one'));
    await second.put('a/c', text('two'));
    assert.deepEqual(await collect(second.list('a/')), ['a/b', 'a/c']);
    await second.close();
  });
});
