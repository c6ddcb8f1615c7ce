import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { open, readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LOG_BLOCK, RECORD_HEADER } from '../../../src/server/storage/blob-store.log.js';
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

blobStoreContract('LogBlobStore through the page cache (directIo: false)', async () => {
  const dir = await tempDir('log-store-buffered');
  const log = await openLog(dir, { directIo: false });
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

  for (const directIo of [true, false]) {
    it(`writes each batch from a block boundary, padded with zeros to the next, ${directIo ? 'with direct I/O' : 'through the page cache'}`, async (t) => {
      const dir = await tempDir('log-blocks');
      t.after(() => rm(dir, { recursive: true, force: true }));
      const log = await openLog(dir, { directIo });
      if (directIo && process.platform === 'linux') {
        assert.equal(log.store.writingDirect, true, `the filesystem of ${dir} refused O_DIRECT (tmpfs on an old kernel?): point TMPDIR at a disk filesystem`);
      } else assert.equal(log.store.writingDirect, false);
      const objects = new Map(Array.from({ length: 7 }, (_, i) => [`blk/${i}`, randomBytes(1000 + i * 3001)] as const));
      await Promise.all([...objects].map(([key, data]) => log.store.put(key, data)));
      await log.store.put('blk/late', Buffer.from('a batch of its own'));
      const rows = await log.db.selectFrom('log_objects').selectAll().orderBy('offset').execute();
      assert.equal(Number(rows[0]?.offset), LOG_BLOCK, 'the first record follows the header block');
      const late = rows.find((r) => r.key === 'blk/late');
      assert.ok(late && Number(late.offset) % LOG_BLOCK === 0, 'a later batch starts on a block boundary');
      const file = await readFile(join(dir, 'log', '0000000001.log'));
      assert.equal(file.length % LOG_BLOCK, 0);
      assert.equal(file.toString('latin1', 0, 5), 'EVLG\x01');
      const end = Number(late.offset) + RECORD_HEADER + late.key.length + Number(late.length);
      assert.ok(file.subarray(end).every((b) => b === 0), 'padding is zeros');
      for (const [key, data] of objects) assert.deepEqual(Buffer.from((await log.store.get(key)) as Uint8Array), data);
      await log.close();
    });
  }

  it('writes every put, however puts trickle in while earlier batches are being made durable', { timeout: 30_000 }, async (t) => {
    const dir = await tempDir('log-trickle');
    t.after(() => rm(dir, { recursive: true, force: true }));
    // No batch interval: with one, the second put of a pair would wait for it instead of meeting the
    // drain at the moments swept here.
    const log = await openLog(dir, { batchIntervalMs: 0 });
    // A put, then a second one a little later, the delay swept so that for some pairs the second
    // arrives while the drain waits for the first one's fdatasync with nothing else queued: it must
    // be written all the same, not left queued with no drain to take it. Each pair settles before
    // the next, so a later put cannot rescue a stranded one.
    for (let i = 0; i < 150; i++) {
      const first = log.store.put(`trickle/${i}/a`, randomBytes(64 * 1024));
      const started = performance.now();
      while (performance.now() - started < (i % 15) * 0.25) await new Promise((r) => setImmediate(r));
      const second = log.store.put(`trickle/${i}/b`, Buffer.from(`object ${i}`));
      let timer: NodeJS.Timeout | undefined;
      const stuck = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`pair ${i}: a put never resolved`)), 5000)));
      await Promise.race([Promise.all([first, second]), stuck]).finally(() => clearTimeout(timer));
    }
    assert.equal(Buffer.from((await log.store.get('trickle/149/b')) as Uint8Array).toString(), 'object 149');
    await log.close();
  });

  it('gathers the puts arriving within batchIntervalMs of the last batch into one, and holds no put that finds it idle', async (t) => {
    const dir = await tempDir('log-interval');
    t.after(() => rm(dir, { recursive: true, force: true }));
    const interval = 500;
    const log = await openLog(dir, { batchIntervalMs: interval });
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

    let started = performance.now();
    await log.store.put('idle/a', randomBytes(10_000));
    const idle = performance.now() - started;
    assert.ok(idle < interval, `a put into an idle store took ${idle.toFixed(0)} ms`);

    // Five puts 20 ms apart, starting right after that batch: all wait for the interval, then share
    // one write and one fdatasync.
    const before = { ...log.store.stats };
    started = performance.now();
    const puts: Promise<void>[] = [];
    for (let i = 0; i < 5; i++) {
      puts.push(log.store.put(`steady/${i}`, randomBytes(10_000)));
      await sleep(20);
    }
    await Promise.all(puts);
    const held = performance.now() - started;
    assert.equal(log.store.stats.puts - before.puts, 5);
    assert.equal(log.store.stats.syncs - before.syncs, 1, 'the five puts were not written as one batch');
    assert.ok(held >= interval - idle - 50, `the batch was taken ${held.toFixed(0)} ms after the first of its puts`);

    // Past the interval the store is idle again: the next put goes at once.
    await sleep(interval);
    started = performance.now();
    await log.store.put('idle/b', randomBytes(10_000));
    assert.ok(performance.now() - started < interval, 'a put after an idle interval was held');
    for (const key of ['idle/a', 'steady/4', 'idle/b']) assert.ok(await log.store.get(key));
    await log.close();
  });

  it('refuses a record that does not match its index row', async (t) => {
    const dir = await tempDir('log-corrupt');
    t.after(() => rm(dir, { recursive: true, force: true }));
    const log = await openLog(dir);
    await log.store.put('x/1', Buffer.from('hello'));
    const handle = await open(join(dir, 'log', '0000000001.log'), 'r+');
    await handle.write(Buffer.from('y'), 0, 1, LOG_BLOCK + RECORD_HEADER); // the record's key: x/1 → y/1
    await handle.close();
    await assert.rejects(log.store.get('x/1'), (e) => isStorageError(e, 'EV_ERR_STORAGE_CORRUPT'));
    await log.close();
  });
});
