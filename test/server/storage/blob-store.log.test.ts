import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { open, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isStorageError } from '../../../src/server/storage/errors.js';
import { blobStoreContract } from './blob-store.contract.js';
import { openCellStore, openLog, tempDir } from './support.js';

blobStoreContract('LogBlobStore', async () => {
  const dir = await tempDir('log-store');
  const log = await openLog(dir);
  return {
    store: log.store,
    async cleanup() {
      await log.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

blobStoreContract('EncryptedBlobStore over LogBlobStore and SqlBlobStore (the cell store)', async () => {
  const dir = await tempDir('cell-store');
  const cell = await openCellStore(dir);
  return {
    store: cell.store,
    async cleanup() {
      await cell.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('LogBlobStore', () => {
  it('makes a burst of puts durable with a few fdatasyncs, and rolls to a new file past the size limit', async (t) => {
    const dir = await tempDir('log-burst');
    t.after(() => rm(dir, { recursive: true, force: true }));
    const log = await openLog(dir, { maxFileBytes: 1024 * 1024, maxBatchBytes: 256 * 1024 });
    await Promise.all(Array.from({ length: 100 }, (_, i) => log.store.put(`rec/${i}`, randomBytes(64 * 1024))));
    t.diagnostic(`${log.store.stats.puts} puts, ${log.store.stats.syncs} fdatasyncs`);
    assert.equal(log.store.stats.puts, 100);
    assert.ok(log.store.stats.syncs <= 40, `${log.store.stats.syncs} fdatasyncs for 100 puts in batches of 256 KiB`);
    const files = await readdir(join(dir, 'log'));
    assert.ok(files.length >= 6, `6.4 MB in files of 1 MiB: ${files.join(', ')}`);
    for (const f of files) assert.equal((await stat(join(dir, 'log', f))).mode & 0o777, 0o600);
    await log.close();
  });

  it('compacts a mostly dead file and removes a dead one, keeping every live object', async (t) => {
    const dir = await tempDir('log-reclaim');
    t.after(() => rm(dir, { recursive: true, force: true }));
    const first = await openLog(dir);
    const kept = new Map<string, Buffer>();
    for (let i = 0; i < 10; i++) {
      const data = randomBytes(10_000);
      await first.store.put(`a/${i}`, data);
      if (i < 2) kept.set(`a/${i}`, data);
    }
    for (let i = 0; i < 10; i++) await first.store.put(`b/${i}`, randomBytes(10_000));
    await first.close();
    // A second process: its files are 2 (and 3 after); file 1 is no longer written.
    const second = await openLog(dir);
    for (let i = 2; i < 10; i++) await second.store.delete(`a/${i}`);
    const before = await readdir(join(dir, 'log'));
    assert.deepEqual(before, ['0000000001.log', '0000000002.log']);
    assert.deepEqual(await second.store.reclaim(), { files: 0, moved: 0 }, '10 of 18 objects live: kept as it is');
    for (let i = 0; i < 10; i++) await second.store.delete(`b/${i}`);
    assert.deepEqual(await second.store.reclaim(), { files: 1, moved: 2 }, '2 of 18 live: compacted');
    assert.deepEqual(await readdir(join(dir, 'log')), ['0000000002.log']);
    for (const [key, data] of kept) assert.deepEqual(Buffer.from((await second.store.get(key)) as Uint8Array), data);
    await second.close();
  });

  it('refuses a record that does not match its index row', async (t) => {
    const dir = await tempDir('log-corrupt');
    t.after(() => rm(dir, { recursive: true, force: true }));
    const log = await openLog(dir);
    await log.store.put('x/1', Buffer.from('hello'));
    const handle = await open(join(dir, 'log', '0000000001.log'), 'r+');
    await handle.write(Buffer.from('y'), 0, 1, 8 + 10); // the record's key: x/1 → y/1
    await handle.close();
    await assert.rejects(log.store.get('x/1'), (e) => isStorageError(e, 'EV_ERR_STORAGE_CORRUPT'));
    await log.close();
  });
});
