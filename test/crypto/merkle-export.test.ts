/**
 * The audit log's entries and the offline verification of an export: the leaf encoding is canonical
 * and refuses anything but ids, an honest export verifies (whole, from a later entry, against an
 * earlier checkpoint), and each way of tampering with an export fails with its own code.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fromUtf8, toHex } from '../../src/crypto/bytes.js';
import {
  type AuditEntry,
  type AuditExport,
  type AuditLogErrorCode,
  buildAuditExport,
  canonicalPayload,
  encodeLeaf,
  generateLogKeyPair,
  parseVerifierKey,
  signCheckpoint,
  signerOf,
  toBase64,
  verifyAuditExport,
} from '../../src/crypto/merkle/index.js';
import { ORIGIN, auditCode, sampleEntries, sampleLog, testSigner } from './merkle-fixtures.js';

const entry: AuditEntry = { seq: 7, createdAt: 1767225600000, institution: 'inst-7f3a', type: 'recording.unlocked', payload: { recording: 'rec-01', epoch: 2, by: { reviewer: 'rev-9' } } };

describe('leaf encoding', () => {
  it('is the canonical JSON of the entry, keys sorted, with the version', () => {
    assert.equal(
      fromUtf8(encodeLeaf(entry)),
      '{"createdAt":1767225600000,"institution":"inst-7f3a","payload":{"by":{"reviewer":"rev-9"},"epoch":2,"recording":"rec-01"},"seq":7,"type":"recording.unlocked","v":1}',
    );
    assert.equal(fromUtf8(encodeLeaf({ ...entry, institution: null, payload: {} })).includes('"institution":null,"payload":{}'), true);
    const keys = { key: 'BGikrjY-QrLXMvUhQK4IEvNV58E3rD9jjPRynAA3a5Oj_w', spki: 'MFkwEwYHKoZIzj0C+/Ag==', at: '2026-01-01T00:00:00.000Z' };
    assert.ok(fromUtf8(encodeLeaf({ ...entry, payload: keys })).includes(keys.key), 'base64url, base64 and ISO times are ids too');
  });

  it('does not depend on the order keys were written in, and parses back to the entry', () => {
    const keyArb = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,8}$/);
    const valueArb = fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:/+=_-]{0,20}$/), fc.maxSafeInteger(), fc.maxSafeNat(), fc.boolean(), fc.constant(null));
    fc.assert(
      fc.property(fc.dictionary(keyArb, fc.oneof(valueArb, fc.array(valueArb, { maxLength: 4 }), fc.dictionary(keyArb, valueArb, { maxKeys: 4 })), { maxKeys: 8 }), (payload) => {
        const reversed = Object.fromEntries(Object.entries(payload).reverse());
        const a = fromUtf8(encodeLeaf({ ...entry, payload }));
        const b = fromUtf8(encodeLeaf({ ...entry, payload: reversed }));
        const parsed = JSON.parse(a) as Record<string, unknown>;
        return a === b && JSON.stringify(parsed.payload) === canonicalPayload({ ...entry, payload }) && parsed.seq === 7;
      }),
      { numRuns: 300 },
    );
  });

  it('refuses anything that is not ids, integers, booleans or null, with EV_ERR_AUDIT_INVALID_EVENT', async () => {
    const bad: [string, Partial<AuditEntry> | Record<string, unknown>][] = [
      ['a name with a space', { payload: { reviewer: 'Ada Lovelace' } }],
      ['an e-mail address', { payload: { reviewer: 'ada@example.org' } }],
      ['a float', { payload: { score: 1.5 } }],
      ['an unsafe integer', { payload: { n: 2 ** 53 } }],
      ['a non-ASCII string', { payload: { note: 'résumé' } }],
      ['a key that is not an identifier', { payload: { 'a-b': 1 } }],
      ['a __proto__ key', { payload: JSON.parse('{"__proto__": 1}') as Record<string, unknown> }],
      ['too deep', { payload: { a: { b: { c: { d: { e: 1 } } } } } }],
      ['a string over 2048 characters', { payload: { key: 'A'.repeat(2049) } }],
      ['a payload that is an array', { payload: [] as unknown as Record<string, unknown> }],
      ['an undefined value', { payload: { a: undefined } as unknown as Record<string, unknown> }],
      ['a Date', { payload: { at: new Date(0) } as unknown as Record<string, unknown> }],
      ['an upper-case type', { type: 'Recording.Unlocked' }],
      ['an empty type', { type: '' }],
      ['an institution with a space', { institution: 'inst 1' }],
      ['a negative seq', { seq: -1 }],
      ['a fractional createdAt', { createdAt: 0.5 }],
    ];
    for (const [name, change] of bad) {
      assert.equal(await auditCode(() => encodeLeaf({ ...entry, ...change } as AuditEntry)), 'EV_ERR_AUDIT_INVALID_EVENT', name);
    }
    assert.equal(await auditCode(() => canonicalPayload({ ...entry, payload: { big: 'A'.repeat(2048), more: Array(8).fill('B'.repeat(2048)) } })), 'EV_ERR_AUDIT_INVALID_EVENT', 'over 16 KiB');
  });
});

/** An honest export of 40 entries with checkpoints at 1, 17, 32 and 40. */
async function honest(from = 0): Promise<AuditExport> {
  const entries = sampleEntries(40);
  const { tree, checkpoints } = await sampleLog(entries, [1, 17, 32, 40]);
  return buildAuditExport({
    origin: ORIGIN,
    logKey: (await testSigner()).verifierKey,
    tree,
    from,
    entries: entries.slice(from),
    checkpoints: checkpoints.filter((c) => c.checkpoint.size >= from),
  });
}

async function pinned() {
  return parseVerifierKey((await testSigner()).verifierKey);
}

interface MutableEntry {
  seq: number;
  createdAt: number;
  institution: string | null;
  type: string;
  payload: Record<string, unknown>;
  leafHash: string;
}

/** An export as plain JSON, to tamper with. */
interface Mutable {
  format: string;
  origin: string;
  from: number;
  prefix: string[];
  entries: MutableEntry[];
  checkpoints: { note: string; consistency: string[] | null }[];
}

/** A deep copy to tamper with. */
function copy(e: AuditExport): Mutable {
  return JSON.parse(JSON.stringify(e)) as Mutable;
}

async function rejection(e: unknown, since?: string): Promise<AuditLogErrorCode> {
  return auditCode(verifyAuditExport(e, await pinned(), since === undefined ? {} : { since }));
}

describe('verifying an export', () => {
  it('verifies an honest export and reports what it proves', async () => {
    const e = await honest();
    const report = await verifyAuditExport(JSON.parse(JSON.stringify(e)), await pinned());
    assert.deepEqual(
      { ...report, latest: { ...report.latest, rootHash: '', note: '' } },
      {
        verified: true, origin: ORIGIN, keyId: toHex((await pinned()).keyId), from: 0, entries: 40, checkpoints: 4,
        latest: { size: 40, rootHash: '', time: '2026-01-01T00:00:03.000Z', note: '' }, since: null, unverifiedEntries: 0, redactedEntries: 0,
      },
    );
    assert.equal(report.latest.note, e.checkpoints[3]?.note);
  });

  it('verifies an export that starts later, from its prefix, and against an earlier checkpoint', async () => {
    const full = await honest();
    const since = full.checkpoints[1]?.note as string; // size 17
    for (const from of [17, 20, 32]) {
      const e = await honest(from);
      assert.equal(e.prefix.length > 0, true);
      const report = await verifyAuditExport(copy(e), await pinned(), from === 17 ? { since } : {});
      assert.equal(report.from, from);
      assert.equal(report.entries, 40 - from);
    }
    const report = await verifyAuditExport(copy(full), await pinned(), { since });
    assert.equal(report.since?.size, 17);
    // The earlier checkpoint lies before the export's start: it cannot be checked.
    assert.equal(await rejection(copy(await honest(20)), since), 'EV_ERR_AUDIT_ENTRIES_MISSING');
  });

  it('reports entries no checkpoint covers, without failing', async () => {
    const e = copy(await honest());
    e.checkpoints = e.checkpoints.slice(0, 3);
    const report = await verifyAuditExport(e, await pinned());
    assert.equal(report.unverifiedEntries, 8);
  });

  it('verifies an export whose other entries are redacted to their leaf hashes, and still checks them', async () => {
    const e = copy(await honest());
    const redact = (i: number) => {
      const x = e.entries[i] as MutableEntry;
      (e.entries as unknown[])[i] = { seq: x.seq, leafHash: x.leafHash, redacted: true };
    };
    for (const i of [0, 5, 6, 39]) redact(i);
    const report = await verifyAuditExport(e, await pinned());
    assert.deepEqual([report.entries, report.redactedEntries], [40, 4]);
    // A redacted leaf changed or moved breaks the roots; one with content kept is not a redacted entry.
    const swapped = copy(e as unknown as AuditExport);
    [swapped.entries[5], swapped.entries[6]] = [{ ...swapped.entries[6], seq: 5 } as MutableEntry, { ...swapped.entries[5], seq: 6 } as MutableEntry];
    assert.equal(await rejection(swapped), 'EV_ERR_AUDIT_ROOT_MISMATCH');
    const stuffed = copy(e as unknown as AuditExport);
    (stuffed.entries[0] as MutableEntry).type = 'recording.unlocked';
    assert.equal(await rejection(stuffed), 'EV_ERR_AUDIT_EXPORT_MALFORMED');
  });

  it('fails with EV_ERR_AUDIT_ENTRY_MODIFIED when an entry was changed', async () => {
    for (const change of [
      (x: MutableEntry) => (x.payload.recording = 'rec-other'),
      (x: MutableEntry) => (x.createdAt += 1),
      (x: MutableEntry) => (x.type = 'recording.deleted'),
      (x: MutableEntry) => (x.institution = 'inst-other'),
    ]) {
      const e = copy(await honest());
      change(e.entries[5]!);
      assert.equal(await rejection(e), 'EV_ERR_AUDIT_ENTRY_MODIFIED');
    }
  });

  it('fails with EV_ERR_AUDIT_ROOT_MISMATCH when an entry was changed along with its leaf hash, or the prefix was', async () => {
    const e = copy(await honest());
    const changed = e.entries[5]!;
    changed.payload = { recording: 'rec-other', epoch: 1, ok: true, segments: [] };
    changed.leafHash = toBase64(new Uint8Array(await crypto.subtle.digest('SHA-256', new Uint8Array([0, ...encodeLeaf(changed as AuditEntry)]))));
    assert.equal(await rejection(e), 'EV_ERR_AUDIT_ROOT_MISMATCH');
    const p = copy(await honest(20));
    p.prefix[0] = toBase64(new Uint8Array(32));
    assert.equal(await rejection(p), 'EV_ERR_AUDIT_ROOT_MISMATCH');
  });

  it('fails with EV_ERR_AUDIT_ENTRIES_MISSING when an entry was dropped, duplicated or moved, or the end cut off', async () => {
    const cases: ((x: MutableEntry[]) => void)[] = [
      (x) => x.splice(10, 1),
      (x) => x.splice(10, 0, x[10]!),
      (x) => x.splice(10, 2, x[11]!, x[10]!),
      (x) => x.pop(),
      (x) => x.shift(),
    ];
    for (const change of cases) {
      const e = copy(await honest());
      change(e.entries);
      assert.equal(await rejection(e), 'EV_ERR_AUDIT_ENTRIES_MISSING');
    }
  });

  it('fails with EV_ERR_AUDIT_BAD_SIGNATURE when a checkpoint was changed', async () => {
    const e = copy(await honest());
    e.checkpoints[2]!.note = e.checkpoints[2]!.note.replace('\n32\n', '\n31\n');
    assert.equal(await rejection(e), 'EV_ERR_AUDIT_BAD_SIGNATURE');
  });

  it('fails with EV_ERR_AUDIT_INCONSISTENT for checkpoints out of order or a broken consistency proof', async () => {
    const swapped = copy(await honest());
    [swapped.checkpoints[1], swapped.checkpoints[2]] = [swapped.checkpoints[2]!, swapped.checkpoints[1]!];
    assert.equal(await rejection(swapped), 'EV_ERR_AUDIT_INCONSISTENT');
    const broken = copy(await honest());
    broken.checkpoints[2]!.consistency![0] = toBase64(new Uint8Array(32));
    assert.equal(await rejection(broken), 'EV_ERR_AUDIT_INCONSISTENT');
  });

  it('catches a forked log: another history signed by the same key', async () => {
    // A log that rewrote entry 3 after checkpoint 17 and signed on: its checkpoints are each valid,
    // but the later one is no extension of the earlier one.
    const entries = sampleEntries(40);
    const { checkpoints } = await sampleLog(entries, [17]);
    const forked = entries.map((x) => (x.seq === 3 ? { ...x, payload: { reviewer: 'rev-x', fingerprint: 'cd'.repeat(16) } } : x));
    const other = await sampleLog(forked, [40]);
    const e = copy(await buildAuditExport({ origin: ORIGIN, logKey: '', tree: other.tree, from: 0, entries: forked, checkpoints: [...checkpoints, ...other.checkpoints] }));
    assert.equal(await rejection(e), 'EV_ERR_AUDIT_INCONSISTENT');
    // Shown only the fork's own checkpoint, the verifier holding the earlier one catches it too.
    const alone = copy(await buildAuditExport({ origin: ORIGIN, logKey: '', tree: other.tree, from: 0, entries: forked, checkpoints: other.checkpoints }));
    assert.equal(await rejection(alone, checkpoints[0]?.note), 'EV_ERR_AUDIT_ROOT_MISMATCH');
  });

  it('fails with EV_ERR_AUDIT_INCONSISTENT when an earlier checkpoint is larger than the export (a rollback)', async () => {
    const e = copy(await honest());
    const since = e.checkpoints[3]!.note;
    e.checkpoints = e.checkpoints.slice(0, 2);
    e.entries = e.entries.slice(0, 17);
    assert.equal(await rejection(e, since), 'EV_ERR_AUDIT_INCONSISTENT');
  });

  it('fails with EV_ERR_AUDIT_NOT_SIGNED or EV_ERR_AUDIT_WRONG_ORIGIN for another log', async () => {
    const { privateKey, publicKey } = await generateLogKeyPair();
    const stranger = await signerOf(ORIGIN, privateKey, publicKey);
    const e = copy(await honest());
    e.checkpoints[0]!.note = await signCheckpoint({ origin: ORIGIN, size: 1, rootHash: new Uint8Array(32), timestamp: 0 }, stranger);
    assert.equal(await rejection(e), 'EV_ERR_AUDIT_NOT_SIGNED');
    const w = copy(await honest());
    w.origin = 'test.example/other';
    assert.equal(await rejection(w), 'EV_ERR_AUDIT_WRONG_ORIGIN');
  });

  it('fails with EV_ERR_AUDIT_NO_CHECKPOINT or EV_ERR_AUDIT_EXPORT_MALFORMED for what is not an export', async () => {
    const none = copy(await honest());
    none.checkpoints = [];
    assert.equal(await rejection(none), 'EV_ERR_AUDIT_NO_CHECKPOINT');
    const malformed: ((x: Mutable) => void)[] = [
      (x) => (x.format = 'something/1'),
      (x) => (x.from = -1),
      (x) => (x.entries = {} as never),
      (x) => (x.entries[0]!.leafHash = 'not base64'),
      (x) => delete (x.entries[0] as Partial<MutableEntry>).seq,
      (x) => (x.entries[1]!.payload.recording = 'Ada Lovelace'),
      (x) => (x.prefix = ['AAAA']),
      (x) => (x.checkpoints[0]!.consistency = []),
      (x) => (x.checkpoints[1]!.consistency = null),
    ];
    for (const change of malformed) {
      const e = copy(await honest());
      change(e);
      assert.equal(await rejection(e), 'EV_ERR_AUDIT_EXPORT_MALFORMED', change.toString());
    }
    assert.equal(await rejection(null), 'EV_ERR_AUDIT_EXPORT_MALFORMED');
    assert.equal(await rejection([]), 'EV_ERR_AUDIT_EXPORT_MALFORMED');
  });
});
