/**
 * Group commit of segment index rows. Every upload waits for its row to be committed, but rows
 * arriving while a commit is in flight share the next transaction: with SQLite in WAL mode and
 * synchronous=FULL that is one fsync for the whole batch instead of one per segment.
 *
 * A row whose (institution, recording, index) already exists is not overwritten; the caller learns the
 * stored row and decides (same bytes: idempotent success; other bytes: conflict).
 */
import type { Kysely } from 'kysely';
import type { CellDatabase, SegmentTable } from '../db/schema.js';

export type IndexOutcome = { readonly inserted: true } | { readonly inserted: false; readonly existing: SegmentTable };

interface Pending {
  readonly row: SegmentTable;
  resolve(outcome: IndexOutcome): void;
  reject(error: unknown): void;
}

export class SegmentIndexWriter {
  private queue: Pending[] = [];
  private flushing: Promise<void> | null = null;

  constructor(private readonly db: Kysely<CellDatabase>, private readonly maxBatch = 512) {}

  insert(row: SegmentTable): Promise<IndexOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ row, resolve, reject });
      if (!this.flushing) this.flushing = this.drain();
    });
  }

  /** Resolves once every row queued so far is committed. */
  async idle(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private async drain(): Promise<void> {
    // Yield once so rows from requests already in flight join this batch.
    await new Promise((r) => setImmediate(r));
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        const outcomes = await this.db.transaction().execute(async (trx) => {
          const out: IndexOutcome[] = [];
          for (const { row } of batch) {
            const result = await trx.insertInto('segments').values(row).onConflict((oc) => oc.doNothing()).executeTakeFirst();
            if (Number(result.numInsertedOrUpdatedRows ?? 0) === 1) {
              out.push({ inserted: true });
            } else {
              const existing = await trx
                .selectFrom('segments')
                .selectAll()
                .where('institution_id', '=', row.institution_id)
                .where('recording_id', '=', row.recording_id)
                .where('idx', '=', row.idx)
                .executeTakeFirstOrThrow();
              out.push({ inserted: false, existing });
            }
          }
          return out;
        });
        batch.forEach((p, i) => p.resolve(outcomes[i] as IndexOutcome));
      } catch (e) {
        for (const p of batch) p.reject(e);
      }
    }
    this.flushing = null;
  }
}
