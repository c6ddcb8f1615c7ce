/** A cell database and audit log in a temporary directory, for the audit log's tests. */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { AuditEvent } from '../../../src/crypto/merkle/index.js';
import { AuditLog, type AuditLogOptions } from '../../../src/server/audit/audit-log.js';
import { openSqlite } from '../../../src/server/db/dialect.sqlite.js';
import { migrateToLatest } from '../../../src/server/db/migrate.js';
import type { CellDatabase } from '../../../src/server/db/schema.js';

export interface TestCell {
  readonly dir: string;
  readonly keyDir: string;
  db: Kysely<CellDatabase>;
  /** Opens a new database handle on the same file (a restart). */
  reopenDb(): Promise<Kysely<CellDatabase>>;
  openLog(options?: Partial<AuditLogOptions>): Promise<AuditLog>;
}

export async function testCell(): Promise<TestCell> {
  const dir = await mkdtemp(join(tmpdir(), 'examvault-audit-'));
  const keyDir = join(dir, 'audit');
  const openDb = async () => {
    const db = openSqlite<CellDatabase>(join(dir, 'metadata.db'));
    await migrateToLatest(db as never, 'cell');
    return db;
  };
  const cell: TestCell = {
    dir,
    keyDir,
    db: await openDb(),
    async reopenDb() {
      cell.db = await openDb();
      return cell.db;
    },
    openLog: (options = {}) => AuditLog.open({ db: cell.db, keyDir, region: 'eu', ...options }),
  };
  return cell;
}

/** Event number `i` of a plausible mix: unlocks, key registrations, a cell-wide rotation. */
export function event(i: number): AuditEvent {
  switch (i % 3) {
    case 0:
      return { institution: 'inst-7f3a', type: 'recording.unlocked', payload: { recording: `rec-${i}`, reviewer: 'rev-2', epoch: 1 } };
    case 1:
      return { institution: 'inst-7f3a', type: 'reviewer.key.registered', payload: { reviewer: `rev-${i}`, fingerprint: 'ab'.repeat(32) } };
    default:
      return { institution: null, type: 'region.key.rotated', payload: { keyId: 'eu-kek', version: i } };
  }
}
