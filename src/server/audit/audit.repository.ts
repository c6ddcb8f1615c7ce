/**
 * The audit log's tables in the cell database (migration 0003): `audit_log`, one row per entry, and
 * `audit_checkpoints`, one signed note per tree size. Rows are only ever inserted.
 */
import type { Kysely } from 'kysely';
import type { AuditCheckpointTable, AuditLogTable, CellDatabase } from '../db/schema.js';

/** SQLite allows 32,766 bound parameters a statement; 6 a row leaves room. */
const ROWS_PER_INSERT = 500;

/** Another writer appended to the table first: the batch was not inserted, and may be renumbered and retried. */
export class ConcurrentAppendError extends Error {
  override readonly name = 'ConcurrentAppendError';
}

/**
 * Inserts consecutive entries starting at `rows[0].seq`, in one transaction, after checking that the
 * table ends just before it: a row written by someone else (a second writer) fails the whole batch
 * with ConcurrentAppendError rather than forking the sequence.
 */
export async function insertEntries(db: Kysely<CellDatabase>, rows: readonly AuditLogTable[]): Promise<void> {
  const first = rows[0];
  if (!first) return;
  await db.transaction().execute(async (trx) => {
    const { last } = await trx.selectFrom('audit_log').select((eb) => eb.fn.max('seq').as('last')).executeTakeFirstOrThrow();
    const next = last === null ? 0 : Number(last) + 1;
    if (next !== first.seq) throw new ConcurrentAppendError(`the audit log ends at seq ${next - 1}, not ${first.seq - 1}: another process appended to it`);
    for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
      await trx.insertInto('audit_log').values(rows.slice(i, i + ROWS_PER_INSERT)).execute();
    }
  });
}

/** Entries with from ≤ seq < to, in order, at most `limit` of them. */
export function readEntries(db: Kysely<CellDatabase>, from: number, to: number, limit: number): Promise<AuditLogTable[]> {
  return db.selectFrom('audit_log').selectAll().where('seq', '>=', from).where('seq', '<', to).orderBy('seq').limit(limit).execute();
}

export function latestCheckpoint(db: Kysely<CellDatabase>): Promise<AuditCheckpointTable | undefined> {
  return db.selectFrom('audit_checkpoints').selectAll().orderBy('tree_size', 'desc').limit(1).executeTakeFirst();
}

/** Checkpoints with from ≤ size ≤ to, by size. */
export function checkpointsBetween(db: Kysely<CellDatabase>, from: number, to: number): Promise<AuditCheckpointTable[]> {
  return db.selectFrom('audit_checkpoints').selectAll().where('tree_size', '>=', from).where('tree_size', '<=', to).orderBy('tree_size').execute();
}

/** Stores a checkpoint unless one of its size exists; returns the stored one either way. */
export async function insertCheckpoint(db: Kysely<CellDatabase>, row: AuditCheckpointTable): Promise<AuditCheckpointTable> {
  await db.insertInto('audit_checkpoints').values(row).onConflict((oc) => oc.doNothing()).execute();
  return db.selectFrom('audit_checkpoints').selectAll().where('tree_size', '=', row.tree_size).executeTakeFirstOrThrow();
}

/**
 * Entries of one institution with from ≤ seq < to, in order, at most `limit`; with `typePrefix`, only
 * those whose type starts with it. Uses the (institution_id, seq) index.
 */
export function readInstitutionEntries(db: Kysely<CellDatabase>, institution: string, from: number, to: number, limit: number, typePrefix?: string): Promise<AuditLogTable[]> {
  let q = db.selectFrom('audit_log').selectAll().where('institution_id', '=', institution).where('seq', '>=', from).where('seq', '<', to);
  if (typePrefix !== undefined) q = q.where('type', 'like', `${typePrefix}%`);
  return q.orderBy('seq').limit(limit).execute();
}

export function checkpointAt(db: Kysely<CellDatabase>, size: number): Promise<AuditCheckpointTable | undefined> {
  return db.selectFrom('audit_checkpoints').selectAll().where('tree_size', '=', size).executeTakeFirst();
}
