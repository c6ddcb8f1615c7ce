/**
 * Helpers of the audit log's crypto tests (merkle*.test.ts). Isomorphic like the code under test:
 * these tests also run in Chromium, so nothing here may import node: modules.
 */
import assert from 'node:assert/strict';
import { fromHex } from '../../src/crypto/bytes.js';
import {
  type AuditEntry,
  type AuditLogErrorCode,
  type LogSigner,
  MerkleTree,
  type SignedCheckpoint,
  encodeLeaf,
  generateLogKeyPair,
  hashLeaf,
  isAuditLogError,
  signCheckpoint,
  signerOf,
} from '../../src/crypto/merkle/index.js';
import rfc6962 from '../vectors/merkle-rfc6962.json' with { type: 'json' };

export { rfc6962 };

/** The leaf hashes of the RFC 6962 test tree (8 leaves). */
export function vectorLeafHashes(): Promise<Uint8Array[]> {
  return Promise.all(rfc6962.leaves.map((l) => hashLeaf(fromHex(l))));
}

/** The code of the AuditLogError `promise` rejects with; fails the test if it resolves or throws anything else. */
export async function auditCode(promise: Promise<unknown> | (() => unknown)): Promise<AuditLogErrorCode> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (e) {
    assert.ok(isAuditLogError(e), `expected an AuditLogError, got ${String(e)}`);
    return e.code;
  }
  assert.fail('expected a rejection');
}

/** Distinct leaf hashes 0..n-1 (hashes of the index as 4 bytes). */
export function distinctLeaves(n: number): Promise<Uint8Array[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => hashLeaf(new Uint8Array([i >>> 24, (i >>> 16) & 0xff, (i >>> 8) & 0xff, i & 0xff]))));
}

export const ORIGIN = 'test.example/examvault/audit/eu';

let signer: Promise<LogSigner> | undefined;
/** One log key for the whole file: key generation is not what these tests exercise. */
export function testSigner(): Promise<LogSigner> {
  signer ??= generateLogKeyPair().then(({ privateKey, publicKey }) => signerOf(ORIGIN, privateKey, publicKey));
  return signer;
}

/** Entries 0..n-1 of a plausible log: unlocks and key registrations, ids only. */
export function sampleEntries(n: number, start = 0): AuditEntry[] {
  return Array.from({ length: n }, (_, j): AuditEntry => {
    const seq = start + j;
    return seq % 3 === 0
      ? { seq, createdAt: 1767225600000 + seq, institution: 'inst-7f3a', type: 'reviewer.key.registered', payload: { reviewer: `rev-${seq}`, fingerprint: 'ab'.repeat(16) } }
      : { seq, createdAt: 1767225600000 + seq, institution: seq % 3 === 1 ? 'inst-7f3a' : null, type: 'recording.unlocked', payload: { recording: `rec-${seq}`, epoch: 1 + (seq % 4), ok: true, segments: [0, 1, seq] } };
  });
}

/** A log of `entries` with checkpoints signed at `sizes`: its tree, and the signed notes in order. */
export async function sampleLog(entries: readonly AuditEntry[], sizes: readonly number[]): Promise<{ tree: MerkleTree; checkpoints: SignedCheckpoint[] }> {
  const tree = await MerkleTree.fromLeafHashes(await Promise.all(entries.map((e) => hashLeaf(encodeLeaf(e)))));
  const s = await testSigner();
  const checkpoints: SignedCheckpoint[] = [];
  for (const [i, size] of sizes.entries()) {
    const checkpoint = { origin: ORIGIN, size, rootHash: await tree.root(size), timestamp: 1767225600000 + 1000 * i };
    checkpoints.push({ checkpoint, note: await signCheckpoint(checkpoint, s) });
  }
  return { tree, checkpoints };
}
