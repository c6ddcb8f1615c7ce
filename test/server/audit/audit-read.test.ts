/**
 * The audit log's read API (docs/AUDIT-LOG.md, "Reading the log"), against the real app in a custody
 * scenario: each caller gets the entries of its own institution it may read, each with an inclusion
 * proof that verifies against a checkpoint signed by the pinned log key (verifyEntryPage), and the
 * consistency proof between two checkpoints verifies (verifyCheckpointExtension). Changed entries,
 * proofs or checkpoints are caught.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AuditEntry, toBase64, generateLogKeyPair, isAuditLogError, parseVerifierKey, signCheckpoint, signerOf, verifyCheckpointExtension, verifyEntryPage } from '../../../src/crypto/merkle/index.js';
import type { EntriesResponse } from '../../../src/protocol/audit.js';
import { bearer } from '../support/test-server.js';
import { addStaff, approve, cellOf, register, scenario, upload } from '../custody/support.js';

function rejectsWith(code: string) {
  return (e: unknown) => isAuditLogError(e) && e.code === code;
}

describe('audit log read API', () => {
  it('serves each caller its institution\'s entries with proofs that verify against the pinned key; tampering is caught', async (t) => {
    const { s, inst, admin } = await scenario(t);
    const cell = cellOf(s);
    const key = await parseVerifierKey(cell.audit.verifierKey);
    const rev = await addStaff(s, inst, 'rev-1', 'reviewer');
    await register(s, rev);
    assert.equal((await approve(s, admin, rev, 1, inst.keys)).statusCode, 201);
    await upload(s, inst, 'cam-1');
    assert.equal((await s.app.inject({ method: 'POST', url: `/v1/custody/recordings/${inst.id}/cam-1/unlock`, headers: rev.send })).statusCode, 200);
    // Another institution of the same cell, with entries of its own in the same tree.
    const other = await s.institution('eu');
    const otherAdmin = await addStaff(s, other, 'adm-other', 'admin');
    await register(s, otherAdmin);
    const taker = await s.attempt(inst);

    const get = async (url: string, headers: Record<string, string>) => {
      const r = await s.app.inject({ method: 'GET', url, headers });
      assert.equal(r.statusCode, 200, `${url}: ${r.body}`);
      return r.json() as EntriesResponse;
    };
    /** Every entry the caller may read, page by page, each page verified. */
    const readAll = async (headers: Record<string, string>, limit = 3): Promise<{ scope: string; entries: AuditEntry[] }> => {
      const entries: AuditEntry[] = [];
      let from: number | null = 0;
      let scope = '';
      while (from !== null) {
        const page: EntriesResponse = await get(`/v1/audit/entries?from=${from}&limit=${limit}`, headers);
        assert.ok(page.entries.length <= limit);
        scope = page.scope;
        entries.push(...(await verifyEntryPage(page, key)).entries);
        from = page.next;
      }
      return { scope, entries };
    };

    const everything = await cell.db.selectFrom('audit_log').select(['seq', 'institution_id', 'type']).orderBy('seq').execute();
    const ours = everything.filter((e) => e.institution_id === inst.id);
    const asAdmin = await readAll(admin.get);
    assert.equal(asAdmin.scope, 'all');
    assert.deepEqual(asAdmin.entries.map((e) => e.seq), ours.map((e) => Number(e.seq)));
    assert.ok(asAdmin.entries.some((e) => e.type === 'recording.unlocked'));
    // Reviewers and recorders read the key-custody entries only; another institution's admin none of ours.
    const custody = ours.filter((e) => e.type.startsWith('custody.')).map((e) => Number(e.seq));
    assert.ok(custody.length >= 3 && custody.length < ours.length);
    for (const headers of [rev.get, bearer(taker.token)]) {
      const read = await readAll(headers);
      assert.equal(read.scope, 'custody');
      assert.deepEqual(read.entries.map((e) => e.seq), custody);
    }
    const theirs = await readAll(otherAdmin.get, 100);
    assert.ok(theirs.entries.length > 0 && theirs.entries.every((e) => e.institution === other.id));
    assert.equal((await s.app.inject({ method: 'GET', url: '/v1/audit/entries' })).statusCode, 401);

    // The checkpoint verifies under the pinned key; a page proven against an older checkpoint too.
    const c1 = (await s.app.inject({ method: 'GET', url: '/v1/audit/checkpoint', headers: rev.get })).json();
    assert.equal(c1.logKey, cell.audit.verifierKey);
    assert.equal(c1.size, everything.length);
    assert.equal((await s.app.inject({ method: 'POST', url: `/v1/custody/recordings/${inst.id}/cam-1/unlock`, headers: rev.send })).statusCode, 200);
    const older = await get(`/v1/audit/entries?size=${c1.size}`, admin.get);
    assert.equal(older.checkpoint, c1.checkpoint);
    assert.equal(older.entries.length, ours.length);
    await verifyEntryPage(older, key);
    const newer = await get('/v1/audit/entries', admin.get);
    assert.equal(newer.size, c1.size + 1);

    // Consistency between the two checkpoints.
    const proof = (await s.app.inject({ method: 'GET', url: `/v1/audit/consistency?from=${c1.size}&to=${newer.size}`, headers: bearer(taker.token) })).json();
    await verifyCheckpointExtension(c1.checkpoint, newer.checkpoint, proof.proof, key);

    // Tampering. An entry's content changed: its leaf no longer matches.
    const page = structuredClone(newer) as EntriesResponse & { entries: { payload: Record<string, unknown>; leafHash: string; inclusion: string[] }[] };
    const unlockAt = page.entries.findIndex((e) => (e as unknown as AuditEntry).type === 'recording.unlocked');
    const changed = structuredClone(page);
    (changed.entries[unlockAt] as { payload: Record<string, unknown> }).payload.member = 'rev-2';
    await assert.rejects(verifyEntryPage(changed, key), rejectsWith('EV_ERR_AUDIT_ENTRY_MODIFIED'));
    // Its proof swapped for another entry's: it leads elsewhere.
    const swapped = structuredClone(page);
    (swapped.entries[0] as { inclusion: string[] }).inclusion = (swapped.entries[1] as { inclusion: string[] }).inclusion;
    await assert.rejects(verifyEntryPage(swapped, key), rejectsWith('EV_ERR_AUDIT_ROOT_MISMATCH'));
    // An entry moved to another seq, its proof kept: not in the tree there.
    const moved = structuredClone(page);
    (moved.entries[0] as unknown as { seq: number }).seq = (page.entries[0] as unknown as { seq: number }).seq + 1000;
    await assert.rejects(verifyEntryPage(moved, key), (e) => isAuditLogError(e));
    // A checkpoint signed by another key (a server forging its own log): not signed by the pinned one.
    const forger = await generateLogKeyPair();
    const forgedNote = await signCheckpoint({ origin: cell.audit.origin, size: newer.size, rootHash: new Uint8Array(32), timestamp: Date.now() }, await signerOf(cell.audit.origin, forger.privateKey, forger.publicKey));
    await assert.rejects(verifyEntryPage({ ...page, checkpoint: forgedNote }, key), rejectsWith('EV_ERR_AUDIT_NOT_SIGNED'));
    // A consistency proof that does not fit the two roots.
    assert.ok(proof.proof.length > 0);
    const bad = [toBase64(new Uint8Array(32).fill(7)), ...proof.proof.slice(1)];
    await assert.rejects(verifyCheckpointExtension(c1.checkpoint, newer.checkpoint, bad, key), rejectsWith('EV_ERR_AUDIT_INCONSISTENT'));

    // Bad queries: stable codes.
    const code = async (url: string) => {
      const r = await s.app.inject({ method: 'GET', url, headers: admin.get });
      return `${r.statusCode} ${r.json().error?.code}`;
    };
    assert.equal(await code('/v1/audit/entries?limit=0'), '400 EV_ERR_AUDIT_BAD_QUERY');
    assert.equal(await code('/v1/audit/entries?limit=501'), '400 EV_ERR_AUDIT_BAD_QUERY');
    assert.equal(await code('/v1/audit/entries?from=-1'), '400 EV_ERR_AUDIT_BAD_QUERY');
    assert.equal(await code(`/v1/audit/entries?from=${newer.size + 1}`), '400 EV_ERR_AUDIT_BAD_QUERY');
    assert.equal(await code(`/v1/audit/entries?size=${c1.size - 1}`), '404 EV_ERR_AUDIT_CHECKPOINT_NOT_FOUND');
    assert.equal(await code(`/v1/audit/consistency?from=2&to=1`), '400 EV_ERR_AUDIT_BAD_QUERY');
    assert.equal(await code(`/v1/audit/consistency?from=0&to=${cell.audit.size + 1}`), '400 EV_ERR_AUDIT_BAD_QUERY');
    assert.equal(await code('/v1/audit/consistency?from=1'), '400 EV_ERR_AUDIT_BAD_QUERY');
  });
});
