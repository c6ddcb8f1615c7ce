/**
 * The recorder checks the statements behind the epoch key against the audit log
 * (src/web/recorder/log-proof.ts), against the real app: an institution set up, a reviewer approved
 * and revoked (epoch 2), another institution's entries in the same tree, read as a recorder does with
 * an attempt credential. Then each way a server could lie: a statement it never logged, an entry or
 * proof changed, a checkpoint under another key, a log rolled back or rewritten since this browser
 * pinned it, a sign-in page's key against the pinned one.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { exportPublicKey, generateEpochKeyPair, signStatement, toBase64Url } from '../../src/crypto/index.js';
import { fromBase64, generateLogKeyPair, importLogSigner, parseCheckpointText, signCheckpoint, signerOf } from '../../src/crypto/merkle/index.js';
import type { CheckpointResponse, ConsistencyResponse, EntriesResponse } from '../../src/protocol/audit.js';
import type { EpochResponse } from '../../src/protocol/custody.js';
import { type LogCheck, type LogPin, type LogReader, checkStatementsInLog } from '../../src/web/recorder/log-proof.js';
import { addStaff, approve, register, revocationBody, scenario } from '../server/custody/support.js';
import { type TestServer, bearer } from '../server/support/test-server.js';

function readerOf(s: TestServer, token: string): LogReader {
  const get = async <T>(url: string): Promise<T> => {
    const r = await s.app.inject({ method: 'GET', url, headers: bearer(token) });
    assert.equal(r.statusCode, 200, `${url}: ${r.body}`);
    return r.json() as T;
  };
  return {
    checkpoint: () => get<CheckpointResponse>('/v1/audit/checkpoint'),
    entries: (from, size) => get<EntriesResponse>(`/v1/audit/entries?from=${from}&limit=1&size=${size}`),
    consistency: (from, to) => get<ConsistencyResponse>(`/v1/audit/consistency?from=${from}&to=${to}`),
  };
}

async function world(t: Parameters<typeof scenario>[0]) {
  const { s, inst, admin } = await scenario(t);
  // Another institution of the same cell appends entries of its own to the same tree.
  const other = await s.institution('eu');
  await register(s, await addStaff(s, other, 'adm-x', 'admin'));
  const rev = await addStaff(s, inst, 'rev-1', 'reviewer');
  await register(s, rev);
  assert.equal((await approve(s, admin, rev, 1, inst.keys)).statusCode, 201);
  const epoch2 = await generateEpochKeyPair();
  const revoked = await s.app.inject({ method: 'POST', url: '/v1/custody/revocations', headers: admin.send, payload: await revocationBody(admin, rev.id, 2, epoch2) });
  assert.equal(revoked.statusCode, 201, revoked.body);
  const attempt = await s.attempt(inst);
  const epoch = await s.app.inject({ method: 'GET', url: '/v1/custody/epoch', headers: bearer(attempt.token) });
  assert.equal(epoch.statusCode, 200);
  const served = epoch.json() as EpochResponse;
  const reader = readerOf(s, attempt.token);
  return { s, inst, admin, other, served, reader, token: attempt.token };
}

function refused(check: LogCheck, code: string, what: string): void {
  assert.equal(check.ok, false, `${what}: accepted`);
  if (!check.ok) assert.equal(check.code, code, `${what}: ${check.reason}`);
}

describe('the recorder checks the epoch chain against the audit log', () => {
  it('finds every served statement in the log, pins the checkpoint, and later requires the log to extend it', async (t) => {
    const { s, served, reader, inst } = await world(t);
    // institution, enrolment and epoch 1 (one set-up entry), then the revocation of epoch 2.
    assert.equal(served.statements.length, 4);
    assert.equal(new Set(served.auditSeqs).size, 2);
    const first = await checkStatementsInLog({ served, reader });
    assert.ok(first.ok, first.ok ? '' : first.reason);
    assert.equal(first.pin.logKey, (await reader.checkpoint()).logKey);

    // The log grows (an approval); the next visit proves the new tree extends the pinned one.
    const rev2 = await addStaff(s, inst, 'rev-2', 'reviewer');
    await register(s, rev2);
    const again = await checkStatementsInLog({ served, reader, pinned: first.pin });
    assert.ok(again.ok, again.ok ? '' : again.reason);
    assert.ok(again.size > first.size, `${again.size} > ${first.size}`);
    // Same size again: an empty consistency proof, equal roots.
    const same = await checkStatementsInLog({ served, reader, pinned: again.pin });
    assert.ok(same.ok && same.size === again.size);
  });

  it('refuses statements the log does not hold, changed entries and proofs, and misplaced entries', async (t) => {
    const { served, reader, other, s } = await world(t);
    const otherAdmin = await addStaff(s, other, 'adm-y', 'admin');
    const unlogged = toBase64Url(await signStatement({
      type: 'epoch', institution: served.institution, timestamp: 1, admin: 'adm-1', epoch: 3,
      epochPublicKey: await exportPublicKey((await generateEpochKeyPair()).publicKey),
    }, otherAdmin.keys.signing.privateKey));
    const lastSeq = served.auditSeqs.at(-1) as number;
    const size = (await reader.checkpoint()).size;
    const cases: [string, Pick<EpochResponse, 'institution' | 'statements' | 'auditSeqs'>][] = [
      ['a statement added to the chain that no entry holds', { ...served, statements: [...served.statements, unlogged], auditSeqs: [...served.auditSeqs, lastSeq] }],
      ['a statement said to be in another entry', { ...served, auditSeqs: served.auditSeqs.map((q, i) => (i === 0 ? lastSeq : q)) }],
      ['a seq beyond the signed tree', { ...served, auditSeqs: served.auditSeqs.map((q, i) => (i === 3 ? size + 5 : q)) }],
      ['no seqs at all', { ...served, auditSeqs: [] }],
    ];
    for (const [what, response] of cases) refused(await checkStatementsInLog({ served: response, reader }), 'EV_ERR_RECORDER_STATEMENT_NOT_LOGGED', what);

    // An entry of the institution that is not a custody entry is never served to a recorder; one of another institution is refused.
    const foreign = { ...served, institution: other.id };
    refused(await checkStatementsInLog({ served: foreign, reader }), 'EV_ERR_RECORDER_STATEMENT_NOT_LOGGED', 'entries of another institution');

    const tamper = (change: (page: EntriesResponse) => EntriesResponse): LogReader => ({ ...reader, entries: async (from, sz) => change(await reader.entries(from, sz)) });
    const flip = (b64: string) => {
      const bytes = fromBase64(b64) as Uint8Array;
      bytes[0] = (bytes[0] as number) ^ 1;
      return Buffer.from(bytes).toString('base64');
    };
    const withEntry = (page: EntriesResponse, change: (e: EntriesResponse['entries'][number]) => object) => ({ ...page, entries: page.entries.map((e) => ({ ...e, ...change(e) })) }) as EntriesResponse;
    refused(await checkStatementsInLog({ served, reader: tamper((p) => withEntry(p, (e) => ({ inclusion: e.inclusion.map(flip) }))) }), 'EV_ERR_RECORDER_LOG_PROOF', 'a changed inclusion proof');
    refused(await checkStatementsInLog({ served, reader: tamper((p) => withEntry(p, (e) => ({ inclusion: e.inclusion.slice(1) }))) }), 'EV_ERR_RECORDER_LOG_PROOF', 'a shortened inclusion proof');
    refused(await checkStatementsInLog({ served, reader: tamper((p) => withEntry(p, (e) => ({ payload: { ...e.payload, extra: 'x' } }))) }), 'EV_ERR_RECORDER_LOG_PROOF', 'a changed entry');
    refused(await checkStatementsInLog({ served, reader: tamper((p) => withEntry(p, (e) => ({ seq: e.seq + 1 }))) }), 'EV_ERR_RECORDER_LOG_PROOF', 'an entry moved to another place');
    const older = await reader.checkpoint();
    await register(s, await addStaff(s, await s.institution('eu'), 'adm-z', 'admin'));
    refused(await checkStatementsInLog({ served, reader: tamper((p) => ({ ...p, checkpoint: older.checkpoint })) }), 'EV_ERR_RECORDER_LOG_PROOF', 'proofs against another checkpoint');
  });

  it('refuses a checkpoint under another key, a log rolled back or rewritten since the pin, and a handed-over key the pin contradicts', async (t) => {
    const { s, served, reader, inst } = await world(t);
    const first = await checkStatementsInLog({ served, reader });
    assert.ok(first.ok);
    const served1 = await reader.checkpoint();
    const cp1 = parseCheckpointText(served1.checkpoint.split('\n\n')[0] + '\n');

    // Another key signs a checkpoint of the same name: refused under the pinned key, and under a handed-over key on first use.
    const stranger = await generateLogKeyPair();
    const strangerSigner = await signerOf(cp1.origin, stranger.privateKey, stranger.publicKey);
    const foreignNote = await signCheckpoint(cp1, strangerSigner);
    const foreignReader: LogReader = { ...reader, checkpoint: async () => ({ ...served1, checkpoint: foreignNote, logKey: strangerSigner.verifierKey }) };
    refused(await checkStatementsInLog({ served, reader: foreignReader, pinned: first.pin }), 'EV_ERR_RECORDER_LOG_CHECKPOINT', 'a checkpoint signed by another key');
    refused(await checkStatementsInLog({ served, reader: foreignReader, trustedLogKey: first.pin.logKey }), 'EV_ERR_RECORDER_LOG_CHECKPOINT', 'another key than the one handed over');
    refused(await checkStatementsInLog({ served, reader, pinned: first.pin, trustedLogKey: strangerSigner.verifierKey }), 'EV_ERR_RECORDER_LOG_KEY_MISMATCH', 'a handed-over key the pin contradicts');

    // The log grows and this browser pins the bigger tree.
    const rev2 = await addStaff(s, inst, 'rev-2', 'reviewer');
    await register(s, rev2);
    const grown = await checkStatementsInLog({ served, reader, pinned: first.pin });
    assert.ok(grown.ok && grown.size > first.size);

    // Rolled back: the server shows the smaller tree again (a real checkpoint it signed earlier).
    const rolledBack: LogReader = { ...reader, checkpoint: async () => served1 };
    refused(await checkStatementsInLog({ served, reader: rolledBack, pinned: grown.pin }), 'EV_ERR_RECORDER_LOG_FORKED', 'a rolled-back log');

    // Rewritten: whoever holds the log key signs a bigger tree that does not contain the pinned one.
    const keyFile = JSON.parse(readFileSync(join(s.dataDir, 'cells', 'eu', 'audit', 'audit-log-key.json'), 'utf8')) as { origin: string; privateKey: string };
    const logSigner = await importLogSigner(keyFile.origin, fromBase64(keyFile.privateKey) as Uint8Array);
    const latest = parseCheckpointText((await reader.checkpoint()).checkpoint.split('\n\n')[0] + '\n');
    const forkedRoot = new Uint8Array(latest.rootHash);
    forkedRoot[0] = (forkedRoot[0] as number) ^ 1;
    const forked = await signCheckpoint({ ...latest, size: latest.size + 1, rootHash: forkedRoot }, logSigner);
    const forkReader: LogReader = { ...reader, checkpoint: async () => ({ ...served1, size: latest.size + 1, checkpoint: forked }), consistency: async (from) => reader.consistency(from, latest.size) };
    refused(await checkStatementsInLog({ served, reader: forkReader, pinned: grown.pin }), 'EV_ERR_RECORDER_LOG_FORKED', 'a rewritten log');
    // The same size with another root is a fork too.
    const sameSize = await signCheckpoint({ ...cp1, rootHash: forkedRoot }, logSigner);
    refused(await checkStatementsInLog({ served, reader: { ...reader, checkpoint: async () => ({ ...served1, checkpoint: sameSize }) }, pinned: first.pin satisfies LogPin }), 'EV_ERR_RECORDER_LOG_FORKED', 'another root at the pinned size');
  });
});
