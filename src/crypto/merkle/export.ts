/**
 * The audit log's export and its offline verification. An export is what a log hands an auditor:
 * its entries from some sequence number on, the signed checkpoints that cover them, and what is
 * needed to check the ones before (docs/AUDIT-LOG.md, "Export"):
 *
 * ```json
 * { "format": "examvault-audit-export/1", "origin": "...", "logKey": "<verifier key line>",
 *   "from": 0, "prefix": ["<base64 hash>", ...],
 *   "entries": [{ "seq": 0, "createdAt": 1767225600000, "institution": "inst-...", "type": "...",
 *                 "payload": {...}, "leafHash": "<base64>" }, ...],
 *   "checkpoints": [{ "note": "<signed note>", "consistency": null },
 *                   { "note": "...", "consistency": ["<base64 hash>", ...] }, ...] }
 * ```
 *
 * `prefix` is the compact range of the entries before `from` (empty when from is 0); each
 * checkpoint after the first carries the consistency proof from the one before it. An export made for
 * one institution replaces every other institution's entry by `{ "seq", "leafHash", "redacted": true }`:
 * its leaf still counts in the tree (so every root and proof is checked as before), its content is not
 * shown, and so it cannot be checked against its leaf hash either (docs/AUDIT-LOG.md, "Export").
 *
 * `verifyAuditExport` trusts nothing in the export but what the pinned key signed. It checks every
 * checkpoint's signature, that sizes grow and times do not go back, every consistency proof, every
 * entry's leaf against its recomputed encoding, that sequence numbers run without a gap, and that the
 * tree the entries make has, at each checkpoint's size, the checkpoint's root. A checkpoint the
 * caller kept from an earlier audit (`since`) must be one of those states too, so the log was only
 * appended to since then.
 */
import { constantTimeEqual, toHex } from '../bytes.js';
import { type Checkpoint, type SignedCheckpoint, openCheckpoint } from './checkpoint.js';
import { CompactRange } from './compact-range.js';
import { fromBase64, toBase64 } from './encoding.js';
import { type AuditEntry, type AuditPayload, encodeLeaf } from './entry.js';
import { AuditLogError, type AuditLogErrorCode, isAuditLogError } from './errors.js';
import { hashLeaf } from './hash.js';
import type { LogVerifierKey } from './log-key.js';
import type { MerkleTree } from './tree.js';
import { verifyConsistency } from './verify.js';

export const EXPORT_FORMAT = 'examvault-audit-export/1';

export interface ExportedEntry extends AuditEntry {
  /** Base64 of the entry's RFC 6962 leaf hash, as the log computed it. */
  readonly leafHash: string;
}

/** Another institution's entry in an export made for one institution: its place and leaf hash only. */
export interface RedactedEntry {
  readonly seq: number;
  readonly leafHash: string;
  readonly redacted: true;
}

export interface ExportedCheckpoint {
  /** The signed note (checkpoint.ts). */
  readonly note: string;
  /** Base64 hashes of the consistency proof from the previous checkpoint of the export; null for the first. */
  readonly consistency: readonly string[] | null;
}

export interface AuditExport {
  readonly format: typeof EXPORT_FORMAT;
  readonly origin: string;
  /** The log's verifier key line, for information: a verifier uses the key it pinned, never this one. */
  readonly logKey: string;
  readonly from: number;
  readonly prefix: readonly string[];
  readonly entries: readonly (ExportedEntry | RedactedEntry)[];
  readonly checkpoints: readonly ExportedCheckpoint[];
}

export interface CheckpointSummary {
  readonly size: number;
  /** Base64, as in the note. */
  readonly rootHash: string;
  /** ISO 8601. */
  readonly time: string;
}

/** What a successful verification found. */
export interface AuditVerifyReport {
  readonly verified: true;
  readonly origin: string;
  /** The pinned key's ID, hex. */
  readonly keyId: string;
  readonly from: number;
  readonly entries: number;
  readonly checkpoints: number;
  /** The latest checkpoint: the state of the log this export proves. Keep its note for `since` next time. */
  readonly latest: CheckpointSummary & { readonly note: string };
  /** The caller's earlier checkpoint, shown to be a prefix of the latest one. */
  readonly since: CheckpointSummary | null;
  /** Entries after the latest checkpoint: in the export, but not covered by any signature. */
  readonly unverifiedEntries: number;
  /** Entries shown by their leaf hash only (other institutions'): in the tree, content not checked. */
  readonly redactedEntries: number;
}

export interface VerifyOptions {
  /** A signed checkpoint kept from an earlier audit of the same log. */
  readonly since?: string;
}

export interface ExportInput {
  readonly origin: string;
  readonly logKey: string;
  /** The log's tree: it holds at least every entry exported and every checkpoint's size. */
  readonly tree: MerkleTree;
  /** Consecutive entries, the first with seq `from` (the export's start). */
  readonly from: number;
  readonly entries: readonly AuditEntry[];
  /** In increasing size, none smaller than `from`. */
  readonly checkpoints: readonly SignedCheckpoint[];
  /** Which entries to show; the others are redacted to their leaf hash (default: all shown). */
  readonly show?: (entry: AuditEntry) => boolean;
}

/**
 * Assembles an export: the leaf hashes and the prefix come from the tree, each checkpoint after the
 * first gets the consistency proof from the one before. What the log serves; `verifyAuditExport`
 * is its counterpart.
 */
export async function buildAuditExport(input: ExportInput): Promise<AuditExport> {
  const { tree, from, entries, checkpoints } = input;
  entries.forEach((e, i) => {
    if (e.seq !== from + i) throw new RangeError(`entry ${i} has seq ${e.seq}, not ${from + i}`);
  });
  const exported: ExportedCheckpoint[] = [];
  for (const [i, c] of checkpoints.entries()) {
    const prev = checkpoints[i - 1];
    if (c.checkpoint.size < from || (prev && c.checkpoint.size <= prev.checkpoint.size)) throw new RangeError('checkpoints must grow from the first entry on');
    const consistency = prev ? (await tree.consistencyProof(prev.checkpoint.size, c.checkpoint.size)).map(toBase64) : null;
    exported.push({ note: c.note, consistency });
  }
  return {
    format: EXPORT_FORMAT,
    origin: input.origin,
    logKey: input.logKey,
    from,
    prefix: tree.compactRange(from).map(toBase64),
    entries: entries.map((e): ExportedEntry | RedactedEntry => {
      const leafHash = toBase64(tree.leafHash(e.seq));
      if (input.show && !input.show(e)) return { seq: e.seq, leafHash, redacted: true };
      return { seq: e.seq, createdAt: e.createdAt, institution: e.institution, type: e.type, payload: e.payload, leafHash };
    }),
    checkpoints: exported,
  };
}

function fail(code: AuditLogErrorCode, message: string): AuditLogError {
  return new AuditLogError(code, message);
}

function malformed(why: string): AuditLogError {
  return fail('EV_ERR_AUDIT_EXPORT_MALFORMED', `the export is malformed: ${why}`);
}

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
export const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** A list of at most 128 base64 32-byte hashes (a proof, a prefix); anything else is `malformedAs`'s error. */
export function hashList(v: unknown, what: string, malformedAs: (why: string) => AuditLogError = malformed): Uint8Array[] {
  if (!Array.isArray(v) || v.length > 128) throw malformedAs(`${what} is not a list of at most 128 base64 hashes`);
  return v.map((h) => {
    const b = typeof h === 'string' ? fromBase64(h) : null;
    if (!b || b.length !== 32) throw malformedAs(`${what} holds something that is not base64 of 32 bytes`);
    return b;
  });
}

interface ParsedExport {
  readonly origin: string;
  readonly from: number;
  readonly prefix: Uint8Array[];
  readonly entries: readonly Record<string, unknown>[];
  readonly checkpoints: readonly { note: string; consistency: Uint8Array[] | null }[];
}

function parseExport(data: unknown): ParsedExport {
  if (!isObject(data) || data.format !== EXPORT_FORMAT) throw malformed(`not a JSON object with "format": "${EXPORT_FORMAT}"`);
  const { origin, from, prefix, entries, checkpoints } = data;
  if (typeof origin !== 'string') throw malformed('"origin" is not a string');
  if (!isCount(from)) throw malformed('"from" is not a whole number ≥ 0');
  if (!Array.isArray(entries) || !entries.every(isObject)) throw malformed('"entries" is not a list of objects');
  if (!Array.isArray(checkpoints)) throw malformed('"checkpoints" is not a list');
  return {
    origin,
    from,
    prefix: hashList(prefix, '"prefix"'),
    entries,
    checkpoints: checkpoints.map((c, i) => {
      if (!isObject(c) || typeof c.note !== 'string') throw malformed(`checkpoint ${i + 1} has no "note" string`);
      return { note: c.note, consistency: c.consistency === null || c.consistency === undefined ? null : hashList(c.consistency, `the consistency proof of checkpoint ${i + 1}`) };
    }),
  };
}

/** Reads one exported entry: its fields (none, when redacted), and the leaf hash it claims. */
function parseEntry(e: Record<string, unknown>, position: number): { seq: number; entry: AuditEntry | null; claimed: Uint8Array } {
  const { seq, createdAt, institution, type, payload, leafHash } = e;
  if (e.redacted !== undefined) {
    const claimed = typeof leafHash === 'string' ? fromBase64(leafHash) : null;
    if (e.redacted !== true || !isCount(seq) || Object.keys(e).length !== 3 || !claimed || claimed.length !== 32) {
      throw malformed(`entry ${position + 1} is redacted but not exactly { seq, leafHash, redacted: true }`);
    }
    return { seq, entry: null, claimed };
  }
  if (!isCount(seq) || !isCount(createdAt) || (institution !== null && typeof institution !== 'string') || typeof type !== 'string' || !isObject(payload)) {
    throw malformed(`entry ${position + 1} lacks seq, createdAt, institution, type or payload of the right type`);
  }
  const claimed = typeof leafHash === 'string' ? fromBase64(leafHash) : null;
  if (!claimed || claimed.length !== 32) throw malformed(`entry ${position + 1} has no base64 32-byte "leafHash"`);
  return { seq, entry: { seq, createdAt, institution, type, payload: payload as AuditPayload }, claimed };
}

function summary(c: Checkpoint): CheckpointSummary {
  return { size: c.size, rootHash: toBase64(c.rootHash), time: new Date(c.timestamp).toISOString() };
}

/** Opens a note, naming which one failed in the error. */
async function open(note: string, key: LogVerifierKey, label: string): Promise<Checkpoint> {
  try {
    return await openCheckpoint(note, key);
  } catch (e) {
    if (isAuditLogError(e)) throw fail(e.code, `${label}: ${e.message}`);
    throw e;
  }
}

/** How many entries are hashed at once (concurrently) before they are added to the tree in order. */
const CHUNK = 512;

/**
 * Verifies an export (parsed JSON) against the log's pinned verifier key. Resolves with a report, or
 * throws an AuditLogError whose code says what failed (docs/errors.md, "Audit log").
 */
export async function verifyAuditExport(data: unknown, key: LogVerifierKey, options: VerifyOptions = {}): Promise<AuditVerifyReport> {
  const exp = parseExport(data);
  if (exp.origin !== key.name) throw fail('EV_ERR_AUDIT_WRONG_ORIGIN', `the export is of the log ${JSON.stringify(exp.origin)}, not of the pinned log ${JSON.stringify(key.name)}`);
  if (exp.checkpoints.length === 0) throw fail('EV_ERR_AUDIT_NO_CHECKPOINT', 'the export holds no signed checkpoint: nothing in it is vouched for');

  // Checkpoints: signed by the pinned key, growing, and each consistent with the one before.
  const checkpoints: Checkpoint[] = [];
  for (const [i, c] of exp.checkpoints.entries()) {
    const label = `checkpoint ${i + 1} of ${exp.checkpoints.length}`;
    const cp = await open(c.note, key, label);
    const prev = checkpoints[i - 1];
    if (!prev) {
      if (c.consistency !== null) throw malformed(`${label} is the first yet carries a consistency proof`);
      if (cp.size < exp.from) throw malformed(`${label} has size ${cp.size}, before the export's first entry ${exp.from}: it cannot be checked`);
    } else {
      if (cp.size <= prev.size) throw fail('EV_ERR_AUDIT_INCONSISTENT', `${label} has size ${cp.size}, not larger than the previous checkpoint's ${prev.size}`);
      if (cp.timestamp < prev.timestamp) throw fail('EV_ERR_AUDIT_INCONSISTENT', `${label} is dated before the previous checkpoint`);
      if (c.consistency === null) throw malformed(`${label} carries no consistency proof from the previous checkpoint`);
      if (!(await verifyConsistency(prev.size, cp.size, prev.rootHash, cp.rootHash, c.consistency))) {
        throw fail('EV_ERR_AUDIT_INCONSISTENT', `${label} (size ${cp.size}) is not an extension of the previous checkpoint (size ${prev.size}): the log was rewritten between them`);
      }
    }
    checkpoints.push(cp);
  }
  const latest = checkpoints[checkpoints.length - 1] as Checkpoint;

  let since: Checkpoint | null = null;
  if (options.since !== undefined) {
    since = await open(options.since, key, 'the earlier checkpoint');
    if (since.size > latest.size) {
      throw fail('EV_ERR_AUDIT_INCONSISTENT', `the earlier checkpoint has size ${since.size}, more than the latest checkpoint of the export (${latest.size}): the log was rolled back`);
    }
    if (since.size < exp.from) {
      throw fail('EV_ERR_AUDIT_ENTRIES_MISSING', `the export starts at entry ${exp.from}, after the earlier checkpoint's size ${since.size}: export from ${since.size} or earlier`);
    }
  }

  // Every state a signature vouches for, by size: the tree the entries make must pass through each.
  const targets = new Map<number, { label: string; root: Uint8Array }[]>();
  const target = (size: number, label: string, root: Uint8Array) => targets.set(size, [...(targets.get(size) ?? []), { label, root }]);
  checkpoints.forEach((c, i) => target(c.size, `checkpoint ${i + 1} of ${checkpoints.length}`, c.rootHash));
  if (since) target(since.size, 'the earlier checkpoint', since.rootHash);

  let range: CompactRange;
  try {
    range = CompactRange.fromHashes(exp.from, exp.prefix);
  } catch {
    throw malformed(`"prefix" does not have one hash per complete subtree of the first ${exp.from} entries`);
  }
  const checkRoot = async () => {
    const wanted = targets.get(range.size);
    if (!wanted) return;
    const root = await range.root();
    for (const { label, root: expected } of wanted) {
      if (!constantTimeEqual(root, expected)) {
        throw fail('EV_ERR_AUDIT_ROOT_MISMATCH', `${label} (size ${range.size}) does not match the entries: an entry before it was changed, added, removed or reordered`);
      }
    }
  };
  await checkRoot();

  let redacted = 0;
  for (let start = 0; start < exp.entries.length; start += CHUNK) {
    const chunk = exp.entries.slice(start, start + CHUNK).map((e, j) => {
      const position = start + j;
      const { seq, entry, claimed } = parseEntry(e, position);
      const expected = exp.from + position;
      if (seq !== expected) {
        throw fail('EV_ERR_AUDIT_ENTRIES_MISSING', `the entry at position ${position + 1} has seq ${seq} where ${expected} was expected: an entry was removed, duplicated or moved`);
      }
      // A redacted entry's leaf hash is taken as given: it must still fit the signed roots.
      if (!entry) {
        redacted++;
        return { seq, claimed, hash: Promise.resolve(claimed) };
      }
      let leaf: Uint8Array;
      try {
        leaf = encodeLeaf(entry);
      } catch (err) {
        throw malformed(`entry seq ${seq}: ${err instanceof Error ? err.message : String(err)}`);
      }
      return { seq, claimed, hash: hashLeaf(leaf) };
    });
    for (const { seq, claimed, hash } of chunk) {
      const leafHash = await hash;
      if (!constantTimeEqual(leafHash, claimed)) {
        throw fail('EV_ERR_AUDIT_ENTRY_MODIFIED', `entry seq ${seq} does not match its leaf hash: its content was changed`);
      }
      await range.append(leafHash);
      await checkRoot();
    }
  }

  const end = exp.from + exp.entries.length;
  if (latest.size > end) {
    throw fail('EV_ERR_AUDIT_ENTRIES_MISSING', `the latest checkpoint covers ${latest.size} entries but the export ends at ${end}: entries were removed from its end`);
  }
  return {
    verified: true,
    origin: key.name,
    keyId: toHex(key.keyId),
    from: exp.from,
    entries: exp.entries.length,
    checkpoints: checkpoints.length,
    latest: { ...summary(latest), note: exp.checkpoints[exp.checkpoints.length - 1]?.note as string },
    since: since ? summary(since) : null,
    unverifiedEntries: end - latest.size,
    redactedEntries: redacted,
  };
}
