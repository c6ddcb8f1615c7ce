/**
 * The audit log's isomorphic core (docs/AUDIT-LOG.md): RFC 6962 Merkle trees with inclusion and
 * consistency proofs verified as RFC 9162 specifies, signed checkpoints (C2SP signed notes with
 * ECDSA P-256), the leaf encoding of log entries, and the offline verification of an export. WebCrypto
 * only: the same code runs in the server, the CLI and a browser.
 *
 * @example
 * ```ts
 * const tree = await MerkleTree.fromLeafHashes(await Promise.all(entries.map((e) => hashLeaf(encodeLeaf(e)))));
 * const proof = await tree.inclusionProof(3);
 * await verifyInclusion(3, tree.size, tree.leafHash(3), proof, await tree.root()); // true
 *
 * const key = await parseVerifierKey(pinnedKeyLine);
 * const checkpoint = await openCheckpoint(note, key); // throws unless signed by the pinned key
 * ```
 */
export * from './errors.js';
export { HASH_SIZE, hashLeaf, hashChildren, emptyRoot } from './hash.js';
export { MerkleTree, merkleTreeHash } from './tree.js';
export { CompactRange } from './compact-range.js';
export { rootFromInclusionProof, verifyInclusion, verifyConsistency } from './verify.js';
export { toBase64, fromBase64 } from './encoding.js';
export {
  type LogSigner,
  type LogVerifierKey,
  generateLogKeyPair,
  exportLogPrivateKey,
  importLogSigner,
  signerOf,
  parseVerifierKey,
  isLogName,
} from './log-key.js';
export { type Checkpoint, type SignedCheckpoint, checkpointText, parseCheckpointText, signCheckpoint, openCheckpoint } from './checkpoint.js';
export {
  type AuditValue,
  type AuditPayload,
  type AuditEvent,
  type AuditEntry,
  LEAF_VERSION,
  MAX_PAYLOAD_LENGTH,
  canonicalPayload,
  encodeLeaf,
  encodeLeafWithPayload,
} from './entry.js';
export {
  type AuditExport,
  type ExportedEntry,
  type RedactedEntry,
  type ExportedCheckpoint,
  type AuditVerifyReport,
  type CheckpointSummary,
  type VerifyOptions,
  type ExportInput,
  EXPORT_FORMAT,
  buildAuditExport,
  verifyAuditExport,
} from './export.js';
export { type ProvenEntry, type EntryPage, verifyEntryPage, verifyCheckpointExtension } from './entry-proof.js';
