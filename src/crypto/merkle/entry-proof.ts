/**
 * What a client (the admin console, a recorder) checks in the audit log's read API
 * (docs/AUDIT-LOG.md, "Reading the log"): a page of entries, each with its RFC 6962 inclusion proof
 * against one signed checkpoint, and the consistency proof between two checkpoints it has seen.
 *
 * Nothing in an answer is trusted but what the pinned log key signed: each entry's leaf is recomputed
 * from its fields, and must lead, through its proof, to the root of the checkpoint the key signed.
 * A page shows that its entries are in the log; it cannot show that none of the caller's entries was
 * left out (that needs the whole log: `examvault audit export` and `examvault audit verify`).
 */
import { constantTimeEqual } from '../bytes.js';
import { type Checkpoint, openCheckpoint } from './checkpoint.js';
import { type AuditEntry, type AuditPayload, encodeLeaf } from './entry.js';
import { AuditLogError } from './errors.js';
import { hashList, isCount, isObject } from './export.js';
import { hashLeaf } from './hash.js';
import type { LogVerifierKey } from './log-key.js';
import { verifyConsistency, verifyInclusion } from './verify.js';

/** One entry as the read API serves it. Hashes are standard base64. */
export interface ProvenEntry extends AuditEntry {
  readonly leafHash: string;
  /** The audit path from the entry's leaf to the root of the page's checkpoint. */
  readonly inclusion: readonly string[];
}

/** A page of the read API: entries proven against one signed checkpoint. */
export interface EntryPage {
  /** The signed note of the checkpoint every proof leads to. */
  readonly checkpoint: string;
  readonly entries: readonly ProvenEntry[];
}

function malformed(why: string): AuditLogError {
  return new AuditLogError('EV_ERR_AUDIT_EXPORT_MALFORMED', `the entry page is malformed: ${why}`);
}

const hashes = (v: unknown, what: string): Uint8Array[] => hashList(v, what, malformed);

/**
 * Verifies a page against the pinned log key: the checkpoint's signature, then for every entry its
 * leaf (recomputed from its fields: EV_ERR_AUDIT_ENTRY_MODIFIED if it is not the leaf hash served) and
 * its inclusion proof against the checkpoint's root (EV_ERR_AUDIT_ROOT_MISMATCH if it does not lead
 * there). Entries must come in increasing seq order, all within the checkpoint's tree. Resolves with
 * the checkpoint and the entries, now vouched for; throws an AuditLogError otherwise.
 */
export async function verifyEntryPage(page: unknown, key: LogVerifierKey): Promise<{ checkpoint: Checkpoint; entries: AuditEntry[] }> {
  if (!isObject(page) || typeof page.checkpoint !== 'string' || !Array.isArray(page.entries)) throw malformed('not { checkpoint, entries }');
  const checkpoint = await openCheckpoint(page.checkpoint, key);
  const entries: AuditEntry[] = [];
  let previous = -1;
  for (const [i, e] of (page.entries as unknown[]).entries()) {
    if (!isObject(e)) throw malformed(`entry ${i + 1} is not an object`);
    const { seq, createdAt, institution, type, payload, leafHash, inclusion } = e;
    if (!isCount(seq) || !isCount(createdAt) || (institution !== null && typeof institution !== 'string') || typeof type !== 'string' || !isObject(payload)) {
      throw malformed(`entry ${i + 1} lacks seq, createdAt, institution, type or payload of the right type`);
    }
    if (seq <= previous || seq >= checkpoint.size) throw malformed(`entry ${i + 1} (seq ${seq}) is out of order or outside the checkpoint's ${checkpoint.size} entries`);
    previous = seq;
    const [claimed] = hashes([leafHash], `the leaf hash of entry seq ${seq}`) as [Uint8Array];
    const entry: AuditEntry = { seq, createdAt, institution, type, payload: payload as AuditPayload };
    let leaf: Uint8Array;
    try {
      leaf = await hashLeaf(encodeLeaf(entry));
    } catch (err) {
      throw malformed(`entry seq ${seq}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (!constantTimeEqual(leaf, claimed)) throw new AuditLogError('EV_ERR_AUDIT_ENTRY_MODIFIED', `entry seq ${seq} does not match its leaf hash: its content was changed`);
    if (!(await verifyInclusion(seq, checkpoint.size, leaf, hashes(inclusion, `the inclusion proof of entry seq ${seq}`), checkpoint.rootHash))) {
      throw new AuditLogError('EV_ERR_AUDIT_ROOT_MISMATCH', `entry seq ${seq} is not in the tree the checkpoint of size ${checkpoint.size} signs`);
    }
    entries.push(entry);
  }
  return { checkpoint, entries };
}

/**
 * Checks that the log only grew between two checkpoints a client holds (notes signed by the pinned
 * key): `proof` is the consistency proof the read API served for their sizes. Throws
 * EV_ERR_AUDIT_INCONSISTENT when it is not (a fork or a rollback, proven by the two signatures).
 */
export async function verifyCheckpointExtension(earlier: string, later: string, proof: readonly string[], key: LogVerifierKey): Promise<{ earlier: Checkpoint; later: Checkpoint }> {
  const a = await openCheckpoint(earlier, key);
  const b = await openCheckpoint(later, key);
  if (a.size > b.size || !(await verifyConsistency(a.size, b.size, a.rootHash, b.rootHash, hashes(proof, 'the consistency proof')))) {
    throw new AuditLogError('EV_ERR_AUDIT_INCONSISTENT', `the checkpoint of size ${b.size} is not an extension of the one of size ${a.size}: the log was rewritten between them`);
  }
  return { earlier: a, later: b };
}
