/**
 * Runs the migrations of a database kind. Migrations are listed statically (no directory scan), so
 * the compiled server carries exactly the migrations it was built with.
 */
import { type Kysely, type Migration, Migrator } from 'kysely';
import * as cell0001 from './migrations/cell/0001-initial.js';
import * as cell0002 from './migrations/cell/0002-small-objects.js';
import * as cell0003 from './migrations/cell/0003-audit-log.js';
import * as cell0004 from './migrations/cell/0004-staff.js';
import * as cell0005 from './migrations/cell/0005-custody.js';
import * as cell0006 from './migrations/cell/0006-exams.js';
import * as cell0008 from './migrations/cell/0008-platforms.js';
import * as cell0009 from './migrations/cell/0009-lti.js';
import * as cell0010 from './migrations/cell/0010-log-objects.js';
import * as cell0011 from './migrations/cell/0011-passcode-lockouts.js';
import * as cell0012 from './migrations/cell/0012-review-records.js';
import * as cell0013 from './migrations/cell/0013-passcodes-admin-issuer.js';
import * as cell0014 from './migrations/cell/0014-log-object-records.js';
import * as cell0015 from './migrations/cell/0015-segment-names.js';
import * as directory0001 from './migrations/directory/0001-initial.js';
import * as directory0002 from './migrations/directory/0002-passcode-locators.js';
import * as directory0003 from './migrations/directory/0003-lti-platforms.js';

export const migrations: Record<'cell' | 'directory', Record<string, Migration>> = {
  cell: {
    '0001-initial': cell0001,
    '0002-small-objects': cell0002,
    '0003-audit-log': cell0003,
    '0004-staff': cell0004,
    '0005-custody': cell0005,
    '0006-exams': cell0006,
    '0008-platforms': cell0008,
    '0009-lti': cell0009,
    '0010-log-objects': cell0010,
    '0011-passcode-lockouts': cell0011,
    '0012-review-records': cell0012,
    '0013-passcodes-admin-issuer': cell0013,
    '0014-log-object-records': cell0014,
    '0015-segment-names': cell0015,
  },
  directory: {
    '0001-initial': directory0001,
    '0002-passcode-locators': directory0002,
    '0003-lti-platforms': directory0003,
  },
};

export class MigrationError extends Error {
  readonly code = 'EV_ERR_DB_MIGRATION_FAILED';
}

export async function migrateToLatest(db: Kysely<unknown>, kind: 'cell' | 'directory'): Promise<void> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations[kind] } });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new MigrationError(`migration ${kind}/${failed} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}
