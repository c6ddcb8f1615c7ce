/**
 * The cell's audit log against a real SQLite cell database: appends are committed before they
 * resolve (grouped into shared transactions), numbered in order, provable with inclusion and
 * consistency proofs under signed checkpoints, survive a restart, and refuse to go on when the rows
 * under them were edited. A failing append is an error the caller can act on: here the log's database
 * handle is closed or its table taken away under it, and no mock is involved.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, describe, it } from 'node:test';
import { sql } from 'kysely';
import { fromUtf8, toHex } from '../../../src/crypto/bytes.js';
import {
  encodeLeaf,
  hashLeaf,
  isAuditLogError,
  openCheckpoint,
  parseVerifierKey,
  verifyAuditExport,
  verifyConsistency,
  verifyInclusion,
} from '../../../src/crypto/merkle/index.js';
import { isAuditError } from '../../../src/server/audit/errors.js';
import { type TestCell, event, testCell } from './support.js';

const cells: TestCell[] = [];
async function cell(): Promise<TestCell> {
  const c = await testCell();
  cells.push(c);
  return c;
}

after(async () => {
  for (const c of cells) {
    await c.db.destroy().catch(() => {});
    await rm(c.dir, { recursive: true, force: true });
  }
});

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (e) {
    assert.ok(isAuditError(e) || isAuditLogError(e), `expected an audit error, got ${String(e)}`);
    return e.code;
  }
  assert.fail('expected a rejection');
}

describe('appending', () => {
  it('numbers entries from 0 in call order, commits them in shared transactions, and stores what the leaf says', async () => {
    const c = await cell();
    const log = await c.openLog();
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => log.append(event(i))));
    assert.deepEqual(results.map((r) => r.seq), Array.from({ length: 300 }, (_, i) => i));
    assert.ok(log.stats.batches <= 3, `300 concurrent appends took ${log.stats.batches} transactions`);
    assert.equal(log.size, 300);

    const rows = await c.db.selectFrom('audit_log').selectAll().orderBy('seq').execute();
    assert.equal(rows.length, 300);
    const row = rows[4] as (typeof rows)[0];
    assert.deepEqual(JSON.parse(fromUtf8(row.payload)), event(4).payload);
    const leaf = encodeLeaf({ ...event(4), seq: 4, createdAt: Number(row.created_at) });
    assert.equal(toHex(row.leaf_hash), toHex(await hashLeaf(leaf)));
    assert.equal(toHex(results[4]?.leafHash as Uint8Array), toHex(row.leaf_hash));
  });

  it('refuses an invalid event with EV_ERR_AUDIT_INVALID_EVENT and records nothing', async () => {
    const c = await cell();
    const log = await c.openLog();
    assert.equal(await codeOf(log.append({ institution: 'inst-1', type: 'recording.unlocked', payload: { reviewer: 'Ada Lovelace' } })), 'EV_ERR_AUDIT_INVALID_EVENT');
    assert.equal(await codeOf(log.append({ institution: 'inst-1', type: 'Not A Type', payload: {} })), 'EV_ERR_AUDIT_INVALID_EVENT');
    assert.equal(log.size, 0);
    assert.equal((await log.append(event(0))).seq, 0);
  });

  it('keeps every acknowledged entry across a restart, with the same key and tree', async () => {
    const c = await cell();
    const log = await c.openLog();
    for (let i = 0; i < 20; i++) await log.append(event(i));
    const cp = await log.checkpoint();
    await log.close();
    await c.db.destroy();
    await c.reopenDb();
    const again = await c.openLog({ origin: 'ignored.example/other' });
    assert.equal(again.size, 20);
    assert.equal(again.origin, log.origin, 'the origin is fixed when the key is made');
    assert.equal(again.verifierKey, log.verifierKey);
    assert.equal(toHex(await again.root()), toHex(cp.checkpoint.rootHash));
    assert.equal((await again.append(event(20))).seq, 20);
  });
});

describe('failing appends', () => {
  it('rejects with EV_ERR_AUDIT_APPEND_FAILED when the database is gone, and after close', async () => {
    const c = await cell();
    const log = await c.openLog();
    await log.append(event(0));
    await c.db.destroy();
    const failures = await Promise.all([log.append(event(1)), log.append(event(2))].map(codeOf));
    assert.deepEqual(failures, ['EV_ERR_AUDIT_APPEND_FAILED', 'EV_ERR_AUDIT_APPEND_FAILED']);
    assert.equal(log.size, 1);

    await c.reopenDb();
    const other = await c.openLog();
    await other.close();
    assert.equal(await codeOf(other.append(event(1))), 'EV_ERR_AUDIT_APPEND_FAILED');
  });

  it('rejects while its table is unavailable, and numbers on without a gap once it is back', async () => {
    const c = await cell();
    const log = await c.openLog();
    await log.append(event(0));
    await sql`ALTER TABLE audit_log RENAME TO audit_log_away`.execute(c.db);
    const failed = log.append(event(1));
    assert.equal(await codeOf(failed), 'EV_ERR_AUDIT_APPEND_FAILED');
    await sql`ALTER TABLE audit_log_away RENAME TO audit_log`.execute(c.db);
    assert.equal((await log.append(event(2))).seq, 1);
    assert.deepEqual((await c.db.selectFrom('audit_log').select('seq').orderBy('seq').execute()).map((r) => Number(r.seq)), [0, 1]);
  });

  it('does not fork when another writer appended: the log reads what it missed and numbers its batch after it', async () => {
    const c = await cell();
    const [a, b] = [await c.openLog(), await c.openLog()];
    await a.append(event(0));
    // b's tree ends before entry 0: its insert finds the table grown, reads entry 0 and appends after it.
    assert.equal((await b.append(event(1))).seq, 1);
    assert.equal((await a.append(event(2))).seq, 2, 'a, in turn, catches up with b');
    assert.equal((await b.append(event(3))).seq, 3);
    assert.equal(b.size, 4);
    const rows = await c.db.selectFrom('audit_log').select(['seq', 'type']).orderBy('seq').execute();
    assert.deepEqual(rows.map((r) => [Number(r.seq), r.type]), [0, 1, 2, 3].map((i) => [i, event(i).type]));
    const exported = await b.export();
    await verifyAuditExport(exported, await parseVerifierKey(b.verifierKey));
    await verifyAuditExport(await a.export(), await parseVerifierKey(a.verifierKey));
  });
});

describe('checkpoints and proofs', () => {
  it('signs the current tree once per size, with times that never go back', async () => {
    let clock = 1767225600000;
    const c = await cell();
    const log = await c.openLog({ now: () => clock });
    const key = await parseVerifierKey(log.verifierKey);
    const empty = await log.checkpoint();
    assert.equal(empty.checkpoint.size, 0);
    for (let i = 0; i < 5; i++) await log.append(event(i));
    const first = await log.checkpoint();
    assert.deepEqual(await openCheckpoint(first.note, key), first.checkpoint);
    assert.equal(first.checkpoint.size, 5);
    assert.equal((await log.checkpoint()).note, first.note, 'same size: the stored checkpoint');
    clock -= 60_000; // the clock is set back
    await log.append(event(5));
    const second = await log.checkpoint();
    assert.equal(second.checkpoint.timestamp, first.checkpoint.timestamp);
    assert.equal((await log.latestCheckpoint())?.note, second.note);
    assert.equal(await c.db.selectFrom('audit_checkpoints').select('tree_size').execute().then((r) => r.length), 3);
  });

  it('proves every entry\'s inclusion and every pair of checkpoints\' consistency', async () => {
    const c = await cell();
    const log = await c.openLog();
    const key = await parseVerifierKey(log.verifierKey);
    const checkpoints = [];
    for (let i = 0; i < 45; i++) {
      await log.append(event(i));
      if ([1, 8, 13, 32, 45].includes(i + 1)) checkpoints.push((await log.checkpoint()).note);
    }
    const signed = await Promise.all(checkpoints.map((n) => openCheckpoint(n, key)));
    for (const cp of signed) {
      for (let seq = 0; seq < cp.size; seq += 3) {
        assert.ok(await verifyInclusion(seq, cp.size, log.leafHash(seq), await log.inclusionProof(seq, cp.size), cp.rootHash), `${seq} in ${cp.size}`);
      }
      for (const later of signed.filter((x) => x.size >= cp.size)) {
        assert.ok(await verifyConsistency(cp.size, later.size, cp.rootHash, later.rootHash, await log.consistencyProof(cp.size, later.size)));
      }
    }
    assert.equal(await codeOf(log.inclusionProof(45, 45)), 'EV_ERR_AUDIT_OUT_OF_RANGE');
    assert.equal(await codeOf(log.consistencyProof(10, 46)), 'EV_ERR_AUDIT_OUT_OF_RANGE');
    assert.equal(await codeOf(log.export(46)), 'EV_ERR_AUDIT_OUT_OF_RANGE');
  });

  it('exports what the offline verifier accepts, whole or from a later entry', async () => {
    const c = await cell();
    const log = await c.openLog();
    const key = await parseVerifierKey(log.verifierKey);
    const empty = await verifyAuditExport(JSON.parse(JSON.stringify(await log.export())), key);
    assert.deepEqual([empty.entries, empty.latest.size], [0, 0], 'an empty log exports a checkpoint of the empty tree');
    for (let i = 0; i < 30; i++) {
      await log.append(event(i));
      if (i % 10 === 4) await log.checkpoint();
    }
    const whole = JSON.parse(JSON.stringify(await log.export())) as unknown;
    const report = await verifyAuditExport(whole, key);
    assert.equal(report.entries, 30);
    assert.equal(report.checkpoints, 5);
    const since = report.latest.note;
    for (let i = 30; i < 40; i++) await log.append(event(i));
    const next = await log.export(30);
    const later = await verifyAuditExport(JSON.parse(JSON.stringify(next)), key, { since });
    assert.deepEqual([later.from, later.entries, later.since?.size, later.latest.size], [30, 10, 30, 40]);
  });
});

describe('a log whose rows were changed under it', () => {
  async function populated(): Promise<TestCell> {
    const c = await cell();
    const log = await c.openLog();
    for (let i = 0; i < 12; i++) await log.append(event(i));
    await log.checkpoint();
    await log.close();
    return c;
  }

  it('refuses to open with EV_ERR_AUDIT_STORE_CORRUPT when an entry was edited', async () => {
    const c = await populated();
    await c.db.updateTable('audit_log').set({ payload: Buffer.from('{"recording":"rec-other"}') }).where('seq', '=', 3).execute();
    assert.equal(await codeOf(c.openLog()), 'EV_ERR_AUDIT_STORE_CORRUPT');
  });

  it('refuses when an entry was edited along with its leaf hash (the signed root no longer matches)', async () => {
    const c = await populated();
    const row = await c.db.selectFrom('audit_log').selectAll().where('seq', '=', 3).executeTakeFirstOrThrow();
    const payload = { recording: 'rec-other', reviewer: 'rev-2', epoch: 1 };
    const leaf = encodeLeaf({ seq: 3, createdAt: Number(row.created_at), institution: row.institution_id, type: row.type, payload });
    await c.db.updateTable('audit_log').set({ payload: Buffer.from(JSON.stringify(payload)), leaf_hash: await hashLeaf(leaf) }).where('seq', '=', 3).execute();
    assert.equal(await codeOf(c.openLog()), 'EV_ERR_AUDIT_STORE_CORRUPT');
  });

  it('refuses when entries were removed, in the middle or at the end', async () => {
    const middle = await populated();
    await middle.db.deleteFrom('audit_log').where('seq', '=', 5).execute();
    assert.equal(await codeOf(middle.openLog()), 'EV_ERR_AUDIT_STORE_CORRUPT');
    const end = await populated();
    await end.db.deleteFrom('audit_log').where('seq', '>=', 10).execute();
    assert.equal(await codeOf(end.openLog()), 'EV_ERR_AUDIT_STORE_CORRUPT');
  });

  it('refuses a stored checkpoint it did not sign', async () => {
    const c = await populated();
    await c.db.updateTable('audit_checkpoints').set({ note: 'forged\n1\nAAAA\n\n' }).execute();
    assert.equal(await codeOf(c.openLog()), 'EV_ERR_AUDIT_STORE_CORRUPT');
  });
});
