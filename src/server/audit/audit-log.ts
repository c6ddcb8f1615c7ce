/**
 * The append-only audit log of one region cell (docs/AUDIT-LOG.md): security events of the cell's
 * institutions, kept in the cell's own database, tamper-evident as an RFC 6962 Merkle tree whose
 * state the log signs in checkpoints.
 *
 * Contract:
 * - `append(event)` resolves with `{ seq, leafHash }` once the entry is committed (the SQLite
 *   transaction is on disk). It rejects with `EV_ERR_AUDIT_INVALID_EVENT` for an event that breaks the
 *   entry rules (ids only, src/crypto/merkle/entry.ts) and with `EV_ERR_AUDIT_APPEND_FAILED` when the
 *   entry could not be committed: the caller must not carry out the action it records. (A failure
 *   reported after the commit happened, say by the fsync, leaves the entry in the log all the same:
 *   the log may record an action that was then refused, never miss one that was carried out.) Appends
 *   made while a commit is in flight share the next transaction (group commit: one fsync per batch,
 *   as recordings/segment-index.ts does).
 * - `checkpoint()` signs the tree as it stands (every entry whose append resolved) with the cell's log
 *   key (log-key.ts) and stores the note; one checkpoint per size, so asking again without new entries
 *   returns the stored one. Times never go back: a clock set back dates a checkpoint at its predecessor's time.
 * - `inclusionProof(seq, size)` and `consistencyProof(from, to)` answer for any size the log has had.
 * - `export(from)` signs a checkpoint of the current size and returns entries from `from` on with the
 *   checkpoints that cover them, as src/crypto/merkle/export.ts specifies; `examvault audit verify`
 *   checks it offline.
 *
 * The tree lives in memory (64 bytes an entry), rebuilt at `open` from the rows: each row's leaf is
 * recomputed from its columns and must match its stored leaf hash, and the tree must have the latest
 * stored checkpoint's root at its size, else `open` fails with `EV_ERR_AUDIT_STORE_CORRUPT`: a log
 * whose rows were edited, removed or reordered under it refuses to go on (and so refuses appends).
 *
 * One writer per cell at a time: this object assigns sequence numbers. A second writer (an operator
 * command appending while the server runs) cannot fork the log: a batch that finds the table grown
 * under it is not inserted; the log reads what it missed and numbers the batch again. The server
 * opens one AuditLog per cell.
 */
import type { Kysely } from 'kysely';
import { fromUtf8, utf8 } from '../../crypto/bytes.js';
import {
  AuditLogError,
  type AuditEntry,
  type AuditEvent,
  type AuditExport,
  type Checkpoint,
  type LogSigner,
  type LogVerifierKey,
  MerkleTree,
  type SignedCheckpoint,
  buildAuditExport,
  canonicalPayload,
  encodeLeafWithPayload,
  hashLeaf,
  openCheckpoint,
  parseVerifierKey,
  signCheckpoint,
  verifyConsistency,
} from '../../crypto/merkle/index.js';
import type { AuditLogTable, CellDatabase } from '../db/schema.js';
import { ConcurrentAppendError, checkpointAt, checkpointsBetween, insertCheckpoint, insertEntries, latestCheckpoint, readEntries, readInstitutionEntries } from './audit.repository.js';
import { AuditError } from './errors.js';
import { defaultOrigin, openLogKey } from './log-key.js';

export interface AuditLogOptions {
  /** The cell's database (migrated). The log does not close it: whoever opened it does. */
  readonly db: Kysely<CellDatabase>;
  /** The folder of the log's signing key: the cell's `audit/` folder. */
  readonly keyDir: string;
  /** The cell's region, for the default origin. */
  readonly region: string;
  /** The log's name, used only when its key is created (default: examvault/audit/<region>/<random>). */
  readonly origin?: string;
  /** Entries committed in one transaction at most. */
  readonly maxBatch?: number;
  /** The clock (milliseconds since the epoch); tests pass their own. */
  readonly now?: () => number;
}

export interface AppendResult {
  readonly seq: number;
  readonly leafHash: Uint8Array;
}

interface Pending {
  readonly event: AuditEvent;
  readonly payload: string;
  readonly createdAt: number;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

/** Rows read at a time when the log loads or catches up. */
const PAGE = 4096;
/** Times a batch is renumbered after another writer appended first. */
const MAX_RENUMBER = 3;

/** Recomputes each row's leaf hash from its columns; throws STORE_CORRUPT unless it matches the stored one. */
async function checkedLeafHashes(rows: readonly AuditLogTable[], firstSeq: number): Promise<Uint8Array[]> {
  return Promise.all(
    rows.map(async (row, i) => {
      const seq = Number(row.seq);
      if (seq !== firstSeq + i) throw new AuditError('EV_ERR_AUDIT_STORE_CORRUPT', `the audit log has no entry ${firstSeq + i} (next is ${seq}): rows were removed`);
      let leaf: Uint8Array;
      try {
        leaf = encodeLeafWithPayload({ seq, createdAt: Number(row.created_at), institution: row.institution_id, type: row.type }, fromUtf8(row.payload));
      } catch {
        throw new AuditError('EV_ERR_AUDIT_STORE_CORRUPT', `audit log entry ${seq} is not a valid entry: it was modified`);
      }
      const hash = await hashLeaf(leaf);
      if (Buffer.compare(hash, row.leaf_hash) !== 0) throw new AuditError('EV_ERR_AUDIT_STORE_CORRUPT', `audit log entry ${seq} does not match its leaf hash: it was modified`);
      return hash;
    }),
  );
}

export class AuditLog {
  private queue: Pending[] = [];
  private flushing: Promise<void> | null = null;
  /** Set after a failed batch: the table may hold rows the tree lacks (a commit that did happen). */
  private stale = false;
  private closed = false;
  private signing: Promise<unknown> = Promise.resolve();
  /** Counters for tests and metrics: `appends` committed in `batches` transactions. */
  readonly stats = { appends: 0, batches: 0 };

  private constructor(
    private readonly db: Kysely<CellDatabase>,
    private readonly signer: LogSigner,
    private readonly key: LogVerifierKey,
    private readonly tree: MerkleTree,
    private readonly maxBatch: number,
    private readonly now: () => number,
  ) {}

  /** Opens the cell's log: its key (created on first use) and its tree, checked against its rows. */
  static async open(options: AuditLogOptions): Promise<AuditLog> {
    const signer = await openLogKey({ dir: options.keyDir, origin: options.origin ?? defaultOrigin(options.region) });
    const log = new AuditLog(options.db, signer, await parseVerifierKey(signer.verifierKey), new MerkleTree(), options.maxBatch ?? 1024, options.now ?? Date.now);
    await log.catchUp();
    const latest = await log.latestStored();
    if (latest) await log.checkAgainst(latest.checkpoint);
    return log;
  }

  /** The log's name: the origin line of its checkpoints. */
  get origin(): string {
    return this.signer.name;
  }

  /** The verifier key line clients pin to check checkpoints (`examvault audit verify --key`). */
  get verifierKey(): string {
    return this.signer.verifierKey;
  }

  /** Entries committed and in the tree. */
  get size(): number {
    return this.tree.size;
  }

  /** Appends an event; resolves once it is committed. See the contract above. */
  async append(event: AuditEvent): Promise<AppendResult> {
    const payload = canonicalPayload(event);
    if (this.closed) throw new AuditError('EV_ERR_AUDIT_APPEND_FAILED', 'the audit log is closed: the event was not recorded');
    return new Promise((resolve, reject) => {
      this.queue.push({ event, payload, createdAt: this.now(), resolve, reject });
      this.flushing ??= this.drain();
    });
  }

  /** Resolves once every append made so far has settled. */
  async idle(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  /** Stops taking appends and waits for those in flight. The database stays open (it is the caller's). */
  async close(): Promise<void> {
    this.closed = true;
    await this.idle();
  }

  private async drain(): Promise<void> {
    // Yield once so appends from requests already in flight join this batch.
    await new Promise((r) => setImmediate(r));
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        if (this.stale) await this.catchUp();
        const { start, hashes } = await this.commit(batch);
        this.stats.batches++;
        this.stats.appends += batch.length;
        batch.forEach((p, i) => p.resolve({ seq: start + i, leafHash: hashes[i] as Uint8Array }));
      } catch (e) {
        this.stale = true;
        const cause = e instanceof Error ? e.message : String(e);
        for (const p of batch) p.reject(new AuditError('EV_ERR_AUDIT_APPEND_FAILED', `the audit event was not recorded: ${cause}`, { cause: e }));
      }
    }
    this.flushing = null;
  }

  /**
   * Numbers the batch from the tree's size and inserts it. If another writer (an operator command
   * such as `examvault admins invite`, on the same database) appended first, the log reads what it
   * missed and numbers the batch again: a few times, then the appends fail.
   */
  private async commit(batch: readonly Pending[]): Promise<{ start: number; hashes: Uint8Array[] }> {
    for (let attempt = 1; ; attempt++) {
      const start = this.tree.size;
      const rows: AuditLogTable[] = batch.map((p, i) => ({
        seq: start + i,
        institution_id: p.event.institution,
        type: p.event.type,
        payload: utf8(p.payload),
        leaf_hash: new Uint8Array(0),
        created_at: p.createdAt,
      }));
      const hashes = await Promise.all(rows.map((r, i) => hashLeaf(encodeLeafWithPayload({ seq: r.seq, createdAt: r.created_at, institution: r.institution_id, type: r.type }, (batch[i] as Pending).payload))));
      rows.forEach((r, i) => (r.leaf_hash = hashes[i] as Uint8Array));
      try {
        await insertEntries(this.db, rows);
      } catch (e) {
        if (!(e instanceof ConcurrentAppendError) || attempt >= MAX_RENUMBER) throw e;
        await this.catchUp();
        continue;
      }
      await this.tree.append(hashes);
      return { start, hashes };
    }
  }

  /** Adds to the tree every row it lacks, each checked against its leaf hash. */
  private async catchUp(): Promise<void> {
    for (;;) {
      const from = this.tree.size;
      const rows = await readEntries(this.db, from, Number.MAX_SAFE_INTEGER, PAGE);
      if (rows.length === 0) break;
      await this.tree.append(await checkedLeafHashes(rows, from));
    }
    this.stale = false;
  }

  private async latestStored(): Promise<SignedCheckpoint | null> {
    const row = await latestCheckpoint(this.db);
    return row ? { note: row.note, checkpoint: await this.openOwn(row.note) } : null;
  }

  /** Opens a stored note with the log's own key: a row that is not a checkpoint of this log is corruption. */
  private async openOwn(note: string): Promise<Checkpoint> {
    try {
      return await openCheckpoint(note, this.key);
    } catch (e) {
      throw new AuditError('EV_ERR_AUDIT_STORE_CORRUPT', `a stored checkpoint is not one this log signed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  }

  /** The tree must pass through every state the log signed. */
  private async checkAgainst(c: Checkpoint): Promise<void> {
    if (c.size > this.tree.size) {
      throw new AuditError('EV_ERR_AUDIT_STORE_CORRUPT', `the log signed a checkpoint of ${c.size} entries but holds ${this.tree.size}: entries were removed`);
    }
    if (Buffer.compare(await this.tree.root(c.size), c.rootHash) !== 0) {
      throw new AuditError('EV_ERR_AUDIT_STORE_CORRUPT', `the entries do not have the root the log signed at size ${c.size}: entries were changed`);
    }
  }

  /** Signs the tree as it stands; see the contract above. Calls are serialized. */
  checkpoint(): Promise<SignedCheckpoint> {
    const next = this.signing.then(() => this.checkpointNow());
    this.signing = next.catch(() => {});
    return next;
  }

  private async checkpointNow(): Promise<SignedCheckpoint> {
    let latest = await this.latestStored();
    if (this.stale || (latest && latest.checkpoint.size > this.tree.size)) {
      await this.catchUp();
      latest = await this.latestStored();
    }
    const size = this.tree.size;
    if (latest && latest.checkpoint.size === size) return latest;
    const rootHash = await this.tree.root(size);
    if (latest) {
      // Never sign a state that does not extend what was signed before (C2SP tlog-checkpoint).
      const proof = await this.tree.consistencyProof(latest.checkpoint.size, size);
      if (!(await verifyConsistency(latest.checkpoint.size, size, latest.checkpoint.rootHash, rootHash, proof))) {
        throw new AuditError('EV_ERR_AUDIT_STORE_CORRUPT', `the tree is not an extension of the checkpoint of size ${latest.checkpoint.size}`);
      }
    }
    const checkpoint: Checkpoint = { origin: this.origin, size, rootHash, timestamp: Math.max(this.now(), latest?.checkpoint.timestamp ?? 0) };
    const note = await signCheckpoint(checkpoint, this.signer);
    const stored = await insertCheckpoint(this.db, { tree_size: size, note, created_at: checkpoint.timestamp });
    return stored.note === note ? { note, checkpoint } : { note: stored.note, checkpoint: await this.openOwn(stored.note) };
  }

  /** The latest checkpoint the log signed, or null before the first. */
  latestCheckpoint(): Promise<SignedCheckpoint | null> {
    return this.latestStored();
  }

  /** The checkpoint the log signed at exactly `size`, or null if it signed none there. */
  async checkpointAt(size: number): Promise<SignedCheckpoint | null> {
    const row = await checkpointAt(this.db, size);
    return row ? { note: row.note, checkpoint: await this.openOwn(row.note) } : null;
  }

  /**
   * Committed entries of one institution with from ≤ seq < to (`to` at most the tree's size), in
   * order, at most `limit`; with `typePrefix`, only types starting with it. Each row is checked
   * against the leaf the tree holds for it, so what is served is what the proofs are about.
   */
  async institutionEntries(institution: string, from: number, to: number, limit: number, typePrefix?: string): Promise<AuditEntry[]> {
    const rows = await readInstitutionEntries(this.db, institution, from, Math.min(to, this.tree.size), limit, typePrefix);
    return Promise.all(rows.map(async (r) => {
      const seq = Number(r.seq);
      const [hash] = await checkedLeafHashes([r], seq);
      if (Buffer.compare(hash as Uint8Array, this.tree.leafHash(seq)) !== 0) throw new AuditError('EV_ERR_AUDIT_STORE_CORRUPT', `audit log entry ${seq} is not the one in the tree`);
      return { seq, createdAt: Number(r.created_at), institution: r.institution_id, type: r.type, payload: JSON.parse(fromUtf8(r.payload)) as AuditEntry['payload'] };
    }));
  }

  /** The tree's root at `size` (default: now). */
  root(size: number = this.tree.size): Promise<Uint8Array> {
    return this.tree.root(size);
  }

  /** The leaf hash of entry `seq`. */
  leafHash(seq: number): Uint8Array {
    return this.tree.leafHash(seq);
  }

  /** The audit path of entry `seq` in the tree of `size` entries (RFC 6962 §2.1.1). */
  inclusionProof(seq: number, size: number = this.tree.size): Promise<Uint8Array[]> {
    return this.tree.inclusionProof(seq, size);
  }

  /** The proof that the tree of `from` entries is a prefix of the tree of `to` (RFC 6962 §2.1.2). */
  consistencyProof(from: number, to: number = this.tree.size): Promise<Uint8Array[]> {
    return this.tree.consistencyProof(from, to);
  }

  /**
   * Entries from `from` on, up to a checkpoint signed now, with every checkpoint from `from` to it and
   * the compact range of the entries before `from` (src/crypto/merkle/export.ts). With `institution`,
   * the entries of other institutions are redacted to their leaf hashes.
   */
  async export(from = 0, institution?: string): Promise<AuditExport> {
    if (!Number.isSafeInteger(from) || from < 0 || from > this.tree.size) {
      throw new AuditLogError('EV_ERR_AUDIT_OUT_OF_RANGE', `export start ${from} is not within 0..${this.tree.size}`);
    }
    const latest = await this.checkpoint();
    const end = latest.checkpoint.size;
    const entries: AuditEntry[] = [];
    while (from + entries.length < end) {
      const rows = await readEntries(this.db, from + entries.length, end, PAGE);
      if (rows.length === 0) throw new AuditError('EV_ERR_AUDIT_STORE_CORRUPT', `audit log entry ${from + entries.length} is missing`);
      for (const r of rows) {
        entries.push({ seq: Number(r.seq), createdAt: Number(r.created_at), institution: r.institution_id, type: r.type, payload: JSON.parse(fromUtf8(r.payload)) as AuditEntry['payload'] });
      }
    }
    const checkpoints: SignedCheckpoint[] = [];
    for (const row of await checkpointsBetween(this.db, from, end)) checkpoints.push({ note: row.note, checkpoint: await this.openOwn(row.note) });
    // For one institution, other institutions' entries are shown by their leaf hash only; the cell's own (null) stay.
    const show = institution === undefined ? undefined : (e: AuditEntry) => e.institution === institution || e.institution === null;
    return buildAuditExport({ origin: this.origin, logKey: this.verifierKey, tree: this.tree, from, entries, checkpoints, ...(show ? { show } : {}) });
  }
}
