/**
 * Rows committed alongside an object (blob-store.ts RowsBlobStore): in the cells' layout, a put can
 * carry queries of the cell's database that commit in the same write as the sealed object's row (its
 * location and its key record), so they exist together or not at all. Real SQLite files, the real
 * worker group commit, the real keyring.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CompiledQuery } from 'kysely';
import { isConstraintViolation } from '../../../src/server/db/constraint.js';
import { EncryptedBlobStore } from '../../../src/server/storage/blob-store.encrypted.js';
import { SqlBlobStore } from '../../../src/server/storage/blob-store.sql.js';
import { takesRows } from '../../../src/server/storage/blob-store.js';
import { FileKeyring } from '../../../src/server/storage/keyring.js';
import { assertBytes } from './blob-store.contract.js';
import { cellStoreFor, logFor, openEncrypted } from './support.js';

const insertSide = (key: string) => CompiledQuery.raw('insert into small_objects (key, data) values (?, ?)', [key, Buffer.from('side')]);

describe('rows committed alongside an object', () => {
  it('commits them with the object and its key record; a failing one undoes its own put only', async (t) => {
    const cell = await cellStoreFor(t, 'rows');
    assert.ok(takesRows(cell.store));

    const data = randomBytes(50_000);
    const results = await cell.store.putWith('seg/1', data, [insertSide('side/1')]);
    assert.deepEqual(results.map((r) => r.changes), [1]);
    assertBytes(await cell.store.get('seg/1'), data);
    assert.ok(await cell.db.selectFrom('small_objects').select('key').where('key', '=', 'side/1').executeTakeFirst());

    // side/1 exists: this insert fails, and with it the object's location and key record. The plain
    // put beside it, likely in the same batch and transaction, is not affected.
    const [failed, plain] = await Promise.allSettled([cell.store.putWith('seg/2', randomBytes(50_000), [insertSide('side/1')]), cell.store.put('seg/3', data)]);
    assert.equal(failed.status, 'rejected');
    assert.match(String((failed as PromiseRejectedResult).reason), /UNIQUE/);
    assert.equal(plain.status, 'fulfilled');
    assert.equal(await cell.store.get('seg/2'), null);
    // The object's row, which holds its key record, is not there.
    assert.equal(await cell.db.selectFrom('log_objects').select('key').where('key', '=', 'seg/2').executeTakeFirst(), undefined);
    assertBytes(await cell.store.get('seg/3'), data);

    // A second put of a key reuses its key record: the results are still only the caller's.
    const again = await cell.store.putWith('seg/1', data, [insertSide('side/2')]);
    assert.deepEqual(again.map((r) => r.changes), [1]);
    assertBytes(await cell.store.get('seg/1'), data);
  });

  it('puts a new key without reading it first, and refuses, committing nothing, a key that holds an object', async (t) => {
    const cell = await cellStoreFor(t, 'rows-new');
    const keyOf = async (table: 'log_objects' | 'small_objects', key: string) =>
      cell.db.selectFrom(table).select('key').where('key', '=', key).executeTakeFirst();

    const data = randomBytes(50_000);
    const results = await cell.store.putNewWith('seg/1', data, [insertSide('side/1')]);
    assert.deepEqual(results.map((r) => r.changes), [1]);
    assertBytes(await cell.store.get('seg/1'), data);
    // The key record is in the object's own row, with its location: one row for the object.
    const row = await cell.db.selectFrom('log_objects').selectAll().where('key', '=', 'seg/1').executeTakeFirstOrThrow();
    assert.ok(row.record && row.record.length > 0);
    assert.equal(await keyOf('small_objects', 'seg/1'), undefined);

    // Taken: the write fails on the insert of the object's row with the database's own constraint
    // violation, and neither the caller's row nor anything of the new object is committed.
    const refused = await cell.store.putNewWith('seg/1', randomBytes(50_000), [insertSide('side/2')]).then(
      () => assert.fail('a put of a new key over an existing object was accepted'),
      (error: unknown) => error,
    );
    assert.ok(isConstraintViolation(refused), String(refused));
    assert.equal(await keyOf('small_objects', 'side/2'), undefined);
    assertBytes(await cell.store.get('seg/1'), data);
    assert.deepEqual(await cell.db.selectFrom('log_objects').selectAll().where('key', '=', 'seg/1').executeTakeFirstOrThrow(), row);

    // The log store alone refuses the same way, by its row.
    const logRefused = await cell.log.putNewWith('seg/1', randomBytes(100), [insertSide('side/3')]).then(
      () => assert.fail('the log store put a new key over an existing object'),
      (error: unknown) => error,
    );
    assert.ok(isConstraintViolation(logRefused), String(logRefused));
    assert.equal(await keyOf('small_objects', 'side/3'), undefined);
    assert.deepEqual(await cell.db.selectFrom('log_objects').selectAll().where('key', '=', 'seg/1').executeTakeFirstOrThrow(), row);

    // Once the key is deleted it is new again.
    await cell.store.delete('seg/1');
    const next = randomBytes(20_000);
    await cell.store.putNewWith('seg/1', next, []);
    assertBytes(await cell.store.get('seg/1'), next);
  });

  it('is offered over a log store, whatever group commit the records kept apart use, and not over other stores', async (t) => {
    const log = await logFor(t, 'rows-apart');
    const keyring = await FileKeyring.open({ dir: join(log.dir, 'keyring'), keyId: 'eu-kek' });
    // Records kept apart go through another group commit: the new ones go into the log's rows anyway.
    const overLog = new EncryptedBlobStore({ objects: log.store, keyRecords: new SqlBlobStore(log.db), keyring });
    assert.equal(overLog.rowsAlongside, true);
    const data = randomBytes(10);
    assert.deepEqual((await overLog.putNewWith('seg/1', data, [insertSide('side/1')])).map((r) => r.changes), [1]);
    assertBytes(await overLog.get('seg/1'), data);
    assert.ok((await log.store.record('seg/1'))?.length);

    const fs = await openEncrypted(join(log.dir, 'fs'));
    assert.equal(fs.store.rowsAlongside, false);
    assert.equal(takesRows(fs.store), false);
    await assert.rejects(fs.store.putWith('seg/1', randomBytes(10), [insertSide('side/2')]), /rowsAlongside/);
    await assert.rejects(fs.store.putNewWith('seg/1', randomBytes(10), [insertSide('side/2')]), /rowsAlongside/);
    await fs.store.close();
  });
});
