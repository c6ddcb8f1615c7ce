/**
 * At-rest key records kept in their objects' rows of the log store (blob-store.log.ts
 * `LogPutOptions.record`, blob-store.encrypted.ts, cell migration 0014): what the log store does with
 * a row's record, how the migration moves records into rows and back, and how the encrypted store
 * still reads, re-wraps, shreds and sweeps a record kept apart in `small_objects`.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { migrateToLatest } from '../../../src/server/db/migrate.js';
import { MAX_ROW_RECORD } from '../../../src/server/storage/blob-store.log.js';
import { cellDatabaseAt, migrateTo } from '../db/support.js';
import { cellStoreFor, logFor, openCellStore, tempDir } from './support.js';

const bytes = (u: Uint8Array | null | undefined): string | null => (u ? Buffer.from(u).toString('hex') : null);

async function keys(iterable: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const k of iterable) out.push(k);
  return out.sort();
}

describe('a log store row keeps a record with its object', () => {
  it('writes it with the location, keeps it through overwrites and compaction, replaces it alone, and drops it with the row', async (t) => {
    const log = await logFor(t, 'row-record', { maxFileBytes: 64 * 1024, compactBelow: 0.99 });

    const record = randomBytes(90);
    const given = Uint8Array.from(record);
    const data = randomBytes(20_000);
    await log.store.putPartsWith('r/1', [data], [], { record: given });
    given.fill(0); // the store copied it
    assert.equal(bytes(await log.store.record('r/1')), bytes(record));
    assert.deepEqual(await log.store.getWithRecord('r/1'), { data: new Uint8Array(data), record: new Uint8Array(record) });
    assert.equal(bytes(await log.store.get('r/1')), bytes(data));

    await log.store.put('r/2', randomBytes(100));
    assert.equal(await log.store.record('r/2'), null);
    assert.equal((await log.store.getWithRecord('r/2'))?.record, null);
    assert.deepEqual(await keys(log.store.listRecorded('r/')), ['r/1']);
    assert.deepEqual(await keys(log.store.list('r/')), ['r/1', 'r/2']);

    // An overwrite without a record keeps the row's; one with a record replaces it.
    const data2 = randomBytes(30_000);
    await log.store.put('r/1', data2);
    assert.equal(bytes(await log.store.record('r/1')), bytes(record));
    assert.equal(bytes(await log.store.get('r/1')), bytes(data2));
    const record2 = randomBytes(80);
    await log.store.putPartsWith('r/1', [data2], [], { record: record2 });
    assert.equal(bytes(await log.store.record('r/1')), bytes(record2));

    // Replaced alone: the object's location stays where it was.
    const location = await log.db.selectFrom('log_objects').select(['file', 'offset', 'length']).where('key', '=', 'r/1').executeTakeFirstOrThrow();
    const record3 = randomBytes(70);
    assert.equal(await log.store.setRecord('r/1', record3), true);
    assert.equal(bytes(await log.store.record('r/1')), bytes(record3));
    assert.deepEqual(await log.db.selectFrom('log_objects').select(['file', 'offset', 'length']).where('key', '=', 'r/1').executeTakeFirstOrThrow(), location);
    assert.equal(await log.store.setRecord('r/none', record3), false);
    assert.equal(await log.db.selectFrom('log_objects').select('key').where('key', '=', 'r/none').executeTakeFirst(), undefined);

    // Compaction appends the object again under a new location and leaves the record alone.
    for (let i = 0; i < 8; i++) await log.store.put(`fill/${i}`, randomBytes(20_000));
    for (let i = 0; i < 8; i++) await log.store.delete(`fill/${i}`);
    await log.store.delete('r/2');
    const moved = await log.store.reclaim();
    assert.ok(moved.moved >= 1, `r/1 was compacted: ${JSON.stringify(moved)}`);
    const after = await log.db.selectFrom('log_objects').select(['file', 'offset']).where('key', '=', 'r/1').executeTakeFirstOrThrow();
    assert.notDeepEqual(after, { file: location.file, offset: location.offset });
    assert.deepEqual(await log.store.getWithRecord('r/1'), { data: new Uint8Array(data2), record: new Uint8Array(record3) });

    await log.store.delete('r/1');
    assert.equal(await log.store.record('r/1'), null);
    assert.equal(await log.store.getWithRecord('r/1'), null);
    assert.deepEqual(await keys(log.store.listRecorded('')), []);
  });

  it('refuses a record larger than a row keeps, storing nothing', async (t) => {
    const log = await logFor(t, 'row-record-big');
    await assert.rejects(log.store.putPartsWith('big/1', [randomBytes(10)], [], { record: randomBytes(MAX_ROW_RECORD + 1) }), RangeError);
    assert.equal(await log.store.get('big/1'), null);
    await log.store.put('big/2', randomBytes(10));
    await assert.rejects(log.store.setRecord('big/2', randomBytes(MAX_ROW_RECORD + 1)), RangeError);
    assert.equal(await log.store.record('big/2'), null);
  });
});

const BEFORE = '0013-passcodes-admin-issuer';

describe('cell migration 0014: key records move into their objects\' rows', () => {
  it('moves the records of objects the log holds, leaves the others, and goes back down', async (t) => {
    const db = await cellDatabaseAt(t, 'migration-0014', BEFORE);
    const [withObject, orphan, other] = [randomBytes(90), randomBytes(91), randomBytes(92)];
    await sql`insert into log_objects (key, file, "offset", length) values ('k/1', 1, 4096, 10), ('k/2', 1, 8192, 20)`.execute(db);
    await sql`insert into small_objects (key, data) values ('k/1', ${withObject}), ('k/3', ${orphan}), ('x/other', ${other})`.execute(db);

    await migrateToLatest(db as never, 'cell');
    const rows = await db.selectFrom('log_objects').selectAll().orderBy('key').execute();
    assert.deepEqual(rows.map((r) => [r.key, Number(r.file), Number(r.offset), Number(r.length), bytes(r.record)]), [
      ['k/1', 1, 4096, 10, bytes(withObject)],
      ['k/2', 1, 8192, 20, null],
    ]);
    const apart = await db.selectFrom('small_objects').selectAll().orderBy('key').execute();
    assert.deepEqual(apart.map((r) => [r.key, bytes(r.data)]), [['k/3', bytes(orphan)], ['x/other', bytes(other)]]);

    await migrateTo(db, BEFORE);
    const columns = await sql<{ name: string }>`select name from pragma_table_info('log_objects')`.execute(db);
    assert.deepEqual(columns.rows.map((c) => c.name), ['key', 'file', 'offset', 'length']);
    const back = await db.selectFrom('small_objects').selectAll().orderBy('key').execute();
    assert.deepEqual(back.map((r) => [r.key, bytes(r.data)]), [['k/1', bytes(withObject)], ['k/3', bytes(orphan)], ['x/other', bytes(other)]]);
  });
});

describe('the cell store with a key record kept apart (written before migration 0014)', () => {
  it('reads, overwrites, re-wraps, sweeps and shreds it as before', async (t) => {
    const cell = await cellStoreFor(t, 'record-apart');

    const [a, b, c] = [randomBytes(40_000), randomBytes(30_000), randomBytes(20_000)];
    await cell.store.put('old/a', a);
    await cell.store.put('new/b', b);
    await cell.store.put('old/c', c);
    // As a cell written before records moved into rows has them: old/a's and old/c's kept apart.
    for (const key of ['old/a', 'old/c']) {
      const row = await cell.db.selectFrom('log_objects').select('record').where('key', '=', key).executeTakeFirstOrThrow();
      await cell.db.insertInto('small_objects').values({ key, data: row.record as Uint8Array }).execute();
      await cell.db.updateTable('log_objects').set({ record: null }).where('key', '=', key).execute();
    }
    assert.equal(bytes(await cell.store.get('old/a')), bytes(a));

    // An overwrite uses the record where it is, and writes none into the row.
    const a2 = randomBytes(35_000);
    await cell.store.put('old/a', a2);
    assert.equal(bytes(await cell.store.get('old/a')), bytes(a2));
    assert.equal(await cell.log.record('old/a'), null);

    // A rotation: each record is re-wrapped once, where it is.
    const apartBefore = await cell.db.selectFrom('small_objects').select('data').where('key', '=', 'old/a').executeTakeFirstOrThrow();
    const rowBefore = await cell.log.record('new/b');
    await (cell.store as unknown as { keyring: { rotate(): Promise<number> } }).keyring.rotate();
    const result = await cell.store.rewrapAll();
    assert.deepEqual(result, { rewrapped: 3, upToDate: 0, failed: [] });
    assert.notEqual(bytes((await cell.db.selectFrom('small_objects').select('data').where('key', '=', 'old/a').executeTakeFirstOrThrow()).data), bytes(apartBefore.data));
    assert.notEqual(bytes(await cell.log.record('new/b')), bytes(rowBefore));
    assert.equal(await cell.log.record('old/a'), null);
    assert.deepEqual(await cell.store.rewrapAll(), { rewrapped: 0, upToDate: 3, failed: [] });
    for (const [key, data] of [['old/a', a2], ['new/b', b], ['old/c', c]] as const) assert.equal(bytes(await cell.store.get(key)), bytes(data));

    // Orphans: an object with no record anywhere, a record apart with no object.
    await cell.db.deleteFrom('small_objects').where('key', '=', 'old/c').execute();
    await cell.db.insertInto('small_objects').values({ key: 'gone/d', data: randomBytes(90) }).execute();
    assert.equal(await cell.store.get('old/c'), null);
    assert.deepEqual(await cell.store.sweepOrphans(), { objects: 1, records: 1 });
    assert.deepEqual(await keys(cell.store.list('')), ['new/b', 'old/a']);
    assert.deepEqual((await cell.db.selectFrom('small_objects').select('key').execute()).map((r) => r.key), ['old/a']);

    // A shred removes the record apart and the row with the object.
    await cell.store.shred('old/a');
    await cell.store.shred('new/b');
    assert.deepEqual(await cell.db.selectFrom('small_objects').select('key').execute(), []);
    assert.deepEqual(await cell.db.selectFrom('log_objects').select('key').execute(), []);
    assert.equal(await cell.store.get('old/a'), null);
  });
});

describe('a cell store written before migration 0014', () => {
  it('opens every object after the upgrade, with every record moved into its row', async (t) => {
    const dir = await tempDir('record-upgrade');
    const open = new Set<{ close(): Promise<void> }>();
    t.after(async () => {
      for (const store of open) await store.close();
      await rm(dir, { recursive: true, force: true });
    });
    const objects = new Map(Array.from({ length: 12 }, (_, i) => [`inst/rec/${i}`, randomBytes(1_000 + i * 997)] as const));
    const first = await openCellStore(dir);
    open.add(first);
    for (const [key, data] of objects) await first.store.put(key, data);
    // Back to the layout before 0014: the records in small_objects, no record column.
    await migrateTo(first.db, BEFORE);
    assert.equal((await first.db.selectFrom('small_objects').select('key').execute()).length, objects.size);
    open.delete(first);
    await first.close();

    const upgraded = await openCellStore(dir);
    open.add(upgraded);
    assert.deepEqual(await upgraded.db.selectFrom('small_objects').select('key').execute(), []);
    for (const [key, data] of objects) {
      assert.ok((await upgraded.log.record(key))?.length, `${key}'s record is in its row`);
      assert.equal(bytes(await upgraded.store.get(key)), bytes(data));
    }
  });
});
