/**
 * Retention: recordings older than their institution's retention period (custody_retention) are
 * crypto-shredded exactly as an admin's deletion is, each with a receipt in the audit log.
 */
import type { Cell, Cells } from '../regions/cell.types.js';
import { expiredRecordings } from './custody.repository.js';
import { type DeletionReceipt, deleteRecording } from './custody.service.js';

/** Deletes up to `limit` expired recordings of the cell; returns their receipts. */
export async function sweepExpired(cell: Cell, now: number, limit = 1000): Promise<DeletionReceipt[]> {
  const receipts: DeletionReceipt[] = [];
  for (const r of await expiredRecordings(cell.db, now, limit)) {
    receipts.push(await deleteRecording(cell, r.institution_id, r.recording_id, { reason: 'retention' }));
  }
  return receipts;
}

/** Runs `sweepExpired` on every cell every `intervalMs`, unref'd; returns the stop function. */
export function startRetentionTimer(cells: Cells, clock: () => number, intervalMs = 3_600_000, onError: (e: unknown) => void = () => {}): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    void (async () => {
      for (const cell of cells.values()) {
        try {
          await sweepExpired(cell, clock());
        } catch (e) {
          onError(e);
        }
      }
    })().finally(() => {
      running = false;
    });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
