/**
 * Cell migration 0013: `passcodes.platform_id` becomes nullable, an admin's passcodes ('' until then)
 * NULL. Checked on a real SQLite file migrated step by step (rows written under 0012, the table
 * rebuilt, its indexes made again, and back down), then on a running server's cell: passcodes issued
 * before the migration are redeemed, listed and withdrawn after it as before.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Kysely, sql } from 'kysely';
import type { IssuedPasscodes, PasscodeList } from '../../../src/protocol/passcodes.js';
import { migrateToLatest } from '../../../src/server/db/migrate.js';
import type { CellDatabase } from '../../../src/server/db/schema.js';
import { addStaff } from '../custody/support.js';
import { issuePasscode, redeem, registerTestPlatform } from '../platforms/support.js';
import { startTestServer } from '../support/test-server.js';
import { cellDatabaseAt, migrateTo } from './support.js';

const BEFORE = '0012-review-records';

/** The schema of `passcodes`: its columns (name, type, not null) and its indexes' SQL. */
async function shape(db: Kysely<CellDatabase>) {
  const columns = await sql<{ name: string; type: string; notnull: number; pk: number }>`select name, type, "notnull", pk from pragma_table_info('passcodes')`.execute(db);
  const indexes = await sql<{ name: string; sql: string | null }>`select name, sql from sqlite_master where type = 'index' and tbl_name = 'passcodes' order by name`.execute(db);
  const unique = await sql<{ name: string; unique: number }>`select name, "unique" from pragma_index_list('passcodes') order by name`.execute(db);
  return { columns: columns.rows, indexes: indexes.rows, unique: unique.rows };
}

const row = (id: string, platform: string, used: number | null) => ({
  id, code_hash: `hash-${id}`, institution_id: 'inst-1', exam_id: 'chem-101', attempt_id: `att-${id}`, platform_id: platform, credential_ttl_seconds: 3600, expires_at: 2_000_000, used_at: used, created_at: 1_000_000,
});

describe('cell migration 0013: an admin-issued passcode has no platform (NULL)', () => {
  it("turns '' into NULL on a SQLite file migrated step by step, keeps every row and index, and goes back down", async (t) => {
    const db = await cellDatabaseAt(t, 'migration-0013', BEFORE);
    const old = await shape(db);
    assert.equal(old.columns.find((c) => c.name === 'platform_id')?.notnull, 1);
    await db.insertInto('passcodes').values([row('pc-admin', '', null), row('pc-used', '', 1_500_000), row('pc-platform', 'plat-1', null)]).execute();

    await migrateToLatest(db as never, 'cell');
    const rows = await db.selectFrom('passcodes').selectAll().orderBy('id').execute();
    assert.deepEqual(rows, [row('pc-admin', '', null), row('pc-platform', 'plat-1', null), row('pc-used', '', 1_500_000)].map((r) => ({ ...r, platform_id: r.platform_id === '' ? null : r.platform_id })));
    const now = await shape(db);
    assert.deepEqual(now.columns, old.columns.map((c) => (c.name === 'platform_id' ? { ...c, notnull: 0 } : c)));
    // The old indexes exactly as they were (the unique one on code_hash is the table's own), plus the listing's.
    assert.deepEqual(now.indexes.filter((i) => i.name !== 'passcodes_exam_created'), old.indexes);
    assert.deepEqual(now.unique.filter((i) => i.name !== 'passcodes_exam_created'), old.unique);
    assert.match(now.indexes.find((i) => i.name === 'passcodes_exam_created')?.sql ?? '', /"institution_id", "exam_id", "created_at"/);
    await assert.rejects(db.insertInto('passcodes').values({ ...row('pc-twin', '', null), code_hash: 'hash-pc-admin', platform_id: null }).execute(), /UNIQUE constraint failed: passcodes.code_hash/);
    assert.deepEqual(await sql`select name from sqlite_master where name = 'passcodes_rebuilt'`.execute(db).then((r) => r.rows), []);

    await migrateTo(db, BEFORE);
    assert.deepEqual(await shape(db), old);
    assert.deepEqual((await db.selectFrom('passcodes').select(['id', 'platform_id']).orderBy('id').execute()).map((r) => [r.id, r.platform_id]), [['pc-admin', ''], ['pc-platform', 'plat-1'], ['pc-used', '']]);
  });

  it('on a running server, passcodes issued before it are redeemed, listed and withdrawn after it, webhooks only for a platform\'s', async (t) => {
    const s = await startTestServer(t);
    const inst = await s.institution('eu');
    const admin = await addStaff(s, inst, 'adm-migration', 'admin');
    assert.equal((await s.app.inject({ method: 'POST', url: '/v1/exams', headers: admin.send, payload: { exam: 'chem-101', title: 'Chemistry' } })).statusCode, 201);
    const platform = await registerTestPlatform(s, inst);
    const cell = s.services.cells.get('eu')!;

    const [first, second] = (await s.app.inject({ method: 'POST', url: '/v1/exams/chem-101/passcodes', headers: admin.send, payload: { count: 2 } })).json<IssuedPasscodes>().passcodes;
    const fromPlatform = await issuePasscode(s, platform, 'chem-101');
    // Back to the schema before 0013: the rows as the server then wrote them, '' for an admin's.
    await migrateTo(cell.db, BEFORE);
    assert.deepEqual((await cell.db.selectFrom('passcodes').select('platform_id').orderBy('platform_id').execute()).map((r) => r.platform_id), ['', '', platform.platform]);

    await migrateToLatest(cell.db as never, 'cell');
    assert.deepEqual((await cell.db.selectFrom('passcodes').select('platform_id').orderBy('platform_id').execute()).map((r) => r.platform_id), [null, null, platform.platform]);
    assert.equal((await redeem(s, first!.passcode)).statusCode, 200);
    assert.equal((await redeem(s, fromPlatform.passcode)).statusCode, 200);
    const events = await cell.db.selectFrom('webhook_outbox').select(['type', 'platform_id']).execute();
    assert.deepEqual(events.map((e) => [e.type, e.platform_id]), [['attempt.started', platform.platform]]);
    const listed = (await s.app.inject({ method: 'GET', url: '/v1/exams/chem-101/passcodes', headers: admin.send })).json<PasscodeList>().passcodes;
    assert.deepEqual(listed.map((p) => [p.issuedBy, p.state]).sort(), [['admin', 'unused'], ['admin', 'used'], ['platform', 'used']]);
    const unused = listed.find((p) => p.state === 'unused')!;
    assert.equal(unused.attempt, second!.attempt);
    assert.equal((await s.app.inject({ method: 'DELETE', url: `/v1/exams/chem-101/passcodes/${unused.id}`, headers: admin.send })).statusCode, 204);
    assert.equal((await redeem(s, second!.passcode)).code, 'EV_ERR_PASSCODE_INVALID');
  });
});
