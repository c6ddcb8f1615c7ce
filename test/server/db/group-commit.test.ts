/**
 * The group commit (src/server/db/group-commit.ts) with both executors: writes queued together share
 * one transaction, a failing write is undone and rejected alone, and the worker's commits never make
 * a transaction on the server's own connection fail.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { openSqlite } from '../../../src/server/db/dialect.sqlite.js';
import { type CommitExecutor, GroupCommit, kyselyExecutor } from '../../../src/server/db/group-commit.js';
import { migrateToLatest } from '../../../src/server/db/migrate.js';
import type { CellDatabase } from '../../../src/server/db/schema.js';
import { sqliteWorkerExecutor } from '../../../src/server/db/sqlite-commit-worker.js';
import { tempDir } from '../storage/support.js';

async function database(t: { after(fn: () => Promise<unknown>): void }) {
  const dir = await tempDir('group-commit');
  const path = join(dir, 'cell.db');
  const db = openSqlite<CellDatabase>(path);
  await migrateToLatest(db as never, 'cell');
  t.after(async () => {
    await db.destroy();
    await rm(dir, { recursive: true, force: true });
  });
  return { db, path };
}

const put = (db: ReturnType<typeof openSqlite<CellDatabase>>, key: string) => db.insertInto('small_objects').values({ key, data: new Uint8Array([1]) }).compile();

for (const kind of ['kysely', 'worker'] as const) {
  describe(`GroupCommit (${kind} executor)`, () => {
    it('commits writes queued together in one transaction, and undoes a failing one alone', async (t) => {
      const { db, path } = await database(t);
      const executor: CommitExecutor = kind === 'kysely' ? kyselyExecutor(db) : sqliteWorkerExecutor(path);
      const commits = new GroupCommit(executor);
      t.after(() => commits.close());
      const results = await Promise.allSettled([
        commits.run([put(db, 'a')]),
        commits.run([put(db, 'b'), put(db, 'a')]), // the second query violates the key: the whole write is undone
        commits.run([put(db, 'c')]),
      ]);
      assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
      assert.equal(commits.stats.commits, 1);
      const keys = (await db.selectFrom('small_objects').select('key').orderBy('key').execute()).map((r) => r.key);
      assert.deepEqual(keys, ['a', 'c']);
    });

    it("answers each write of a batch with a failing one as if the writes before it had run alone", async (t) => {
      const { db, path } = await database(t);
      const executor: CommitExecutor = kind === 'kysely' ? kyselyExecutor(db) : sqliteWorkerExecutor(path);
      const commits = new GroupCommit(executor);
      t.after(() => commits.close());
      const putIfNew = (key: string) => db.insertInto('small_objects').values({ key, data: new Uint8Array([2]) }).onConflict((oc) => oc.doNothing()).compile();
      const results = await Promise.allSettled([
        commits.run([put(db, 'a')]),
        commits.run([put(db, 'a')]), // 'a' is taken by the write before it
        commits.run([putIfNew('a'), putIfNew('b')]),
      ]);
      assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
      const third = results[2] as PromiseFulfilledResult<readonly { changes: number }[]>;
      assert.deepEqual(third.value.map((r) => r.changes), [0, 1]);
      assert.equal(commits.stats.commits, 1);

      // A batch of one failing write fails alone; the next batch commits.
      await assert.rejects(commits.run([put(db, 'b')]));
      await commits.run([put(db, 'c')]);
      const rows = await db.selectFrom('small_objects').select(['key', 'data']).orderBy('key').execute();
      assert.deepEqual(rows.map((r) => [r.key, [...r.data]]), [['a', [1]], ['b', [2]], ['c', [1]]]);
    });
  });
}

describe('the server connection beside the commit worker', () => {
  it('runs a read-then-write transaction while the worker commits in between', async (t) => {
    const { db, path } = await database(t);
    const commits = new GroupCommit(sqliteWorkerExecutor(path));
    t.after(() => commits.close());
    await commits.run([put(db, 'first')]);
    const { racing } = await db.transaction().execute(async (trx) => {
      const before = await trx.selectFrom('small_objects').select('key').execute();
      // The worker's commit has to wait for this transaction, not break it.
      const racing = commits.run([put(db, 'racing')]);
      await new Promise((r) => setTimeout(r, 50));
      await trx.insertInto('small_objects').values({ key: `after-${before.length}`, data: new Uint8Array([2]) }).execute();
      return { racing }; // not awaited in here: the worker waits for this transaction to end
    });
    await racing;
    const keys = (await sql<{ key: string }>`select key from small_objects order by key`.execute(db)).rows.map((r) => r.key);
    assert.deepEqual(keys, ['after-1', 'first', 'racing']);
  });
});
