/**
 * LogBlobStore under SIGKILL, alone and as the embedded default's cell store (EncryptedBlobStore over
 * it and a SqlBlobStore sharing one group commit): fixtures/crash-writer.ts puts objects eight at a
 * time and prints each acknowledged one; the test kills it at random moments and restarts it, then
 * checks that every acknowledged object reads back whole, that overwritten keys never go back, and
 * that nothing listed is partial. The kills leave torn records and records whose rows never
 * committed at the ends of the log files; the test shows they were there (the crash window was hit),
 * adds a torn record of its own to the newest file, and checks that reopening ignores all of it and
 * that `reclaim` removes the files no row points into.
 */
import assert from 'node:assert/strict';
import { appendFile, readdir, stat } from 'node:fs/promises';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Kysely } from 'kysely';
import type { CellDatabase } from '../../../src/server/db/schema.js';
import type { BlobStore } from '../../../src/server/storage/blob-store.js';
import { LOG_BLOCK, RECORD_HEADER, type LogBlobStore, logFileName } from '../../../src/server/storage/blob-store.log.js';
import { collect, sha256 } from './blob-store.contract.js';
import { type Ack, assertAcknowledged, runAndKill, wholeObject } from './crash-support.js';
import { openCellStore, openLog, tempDir } from './support.js';

type Kind = 'log' | 'cell';

/** Bytes at the end of each log file past the block that holds the last record a row points to (batches are padded to blocks). */
async function unreferencedTails(dir: string, db: Kysely<CellDatabase>): Promise<Map<number, number>> {
  const ends = new Map<number, number>();
  for (const r of await db.selectFrom('log_objects').selectAll().execute()) {
    const end = Math.ceil((Number(r.offset) + RECORD_HEADER + r.key.length + Number(r.length)) / LOG_BLOCK) * LOG_BLOCK;
    ends.set(Number(r.file), Math.max(ends.get(Number(r.file)) ?? LOG_BLOCK, end));
  }
  const tails = new Map<number, number>();
  for (const name of await readdir(dir)) {
    const file = Number(name.slice(0, 10));
    tails.set(file, (await stat(join(dir, name))).size - (ends.get(file) ?? LOG_BLOCK));
  }
  return tails;
}

function crashSuite(kind: Kind, runs: number): void {
  describe(`${kind === 'log' ? 'LogBlobStore' : 'the cell store (encrypted, over the log)'} killed with SIGKILL mid-write`, () => {
    let dir: string;
    before(async () => {
      dir = await tempDir('log-crash');
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it(`keeps every acknowledged object whole across ${runs} kills and ignores torn tails`, { timeout: 90_000 }, async (t) => {
      const root = join(dir, kind);
      const once = new Map<string, Ack>();
      const hot = new Map<string, number>();
      for (let run = 0; run < runs; run++) {
        for (const [key, ack] of await runAndKill(root, run, kind)) {
          if (key.startsWith('hot/')) hot.set(key, Math.max(hot.get(key) ?? -1, ack.seq));
          else once.set(key, ack);
        }
      }
      assert.ok(once.size > runs * 10, `too few acknowledged puts (${once.size}) to mean anything`);

      const logDir = join(root, 'log');
      const files = (await readdir(logDir)).sort();
      assert.equal(files.length, runs, 'each run wrote a log file of its own');
      // A torn record of our own at the end of the newest file, as a kill in mid-writev leaves one.
      await appendFile(join(logDir, files.at(-1) as string), Buffer.concat([Buffer.from('EVLR'), Buffer.from([0, 40, 0, 9])]));

      const opened = kind === 'log' ? await openLog(root) : await openCellStore(root);
      const store: BlobStore = opened.store;
      const log: LogBlobStore = 'log' in opened ? opened.log : opened.store;
      const db = opened.db;
      try {
        await assertAcknowledged(store, once, hot);
        let orphans = 0;
        const keys = await collect(store.list(''));
        for (const key of keys) {
          const bytes = await store.get(key);
          // The cell store may list a sealed object whose key record a kill prevented: it reads null.
          if (bytes === null && kind === 'cell') orphans++;
          else assert.ok(bytes && wholeObject(bytes), `${key} is partial`);
        }
        const tails = await unreferencedTails(logDir, db);
        const newest = Math.max(...tails.keys());
        // The newest file's tail holds the 8 bytes added above: count only what the kills left.
        const torn = [...tails].filter(([file, n]) => n > (file === newest ? 8 : 0)).length;
        t.diagnostic(`${once.size} single-write and ${hot.size} hot keys acknowledged; ${torn} of ${tails.size} log files end in bytes no row points to; ${orphans} sealed objects without a key record`);
        assert.ok(torn >= 1, 'no kill landed mid-write: the test did not exercise the crash window');

        // New writes go to a new file, never after a torn tail.
        await store.put('after/1', Buffer.from('written after the kills'));
        assert.equal((await readdir(logDir)).length, runs + 1);
        assert.equal(Buffer.from((await store.get('after/1')) as Uint8Array).toString(), 'written after the kills');

        // Files no row points into are removed; the rest is compacted or kept, never lost.
        for (const key of keys) if (key.startsWith('run0/') || key.startsWith('run1/')) await store.delete(key);
        const reclaimed = await log.reclaim();
        t.diagnostic(`reclaim removed ${reclaimed.files} files and moved ${reclaimed.moved} objects`);
        assert.ok(reclaimed.files >= 2, 'the files of the first two runs are gone');
        assert.ok(!(await readdir(logDir)).includes(logFileName(1)));
        for (const [key, ack] of once) {
          if (key.startsWith('run0/') || key.startsWith('run1/')) continue;
          assert.equal(sha256((await store.get(key)) as Uint8Array), ack.hash, `${key} after reclaim`);
        }
      } finally {
        await opened.close();
      }
    });
  });
}

crashSuite('log', 5);
crashSuite('cell', 5);
