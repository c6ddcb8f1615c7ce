/** Migrating a cell database step by step, for the tests of single migrations. */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { type Kysely, Migrator } from 'kysely';
import { openSqlite } from '../../../src/server/db/dialect.sqlite.js';
import { migrations } from '../../../src/server/db/migrate.js';
import type { CellDatabase } from '../../../src/server/db/schema.js';
import { tempDir } from '../storage/support.js';

/** Migrates `db` up or down to the cell migration named `target`. */
export async function migrateTo(db: Kysely<CellDatabase>, target: string): Promise<void> {
  const migrator = new Migrator({ db: db as never, provider: { getMigrations: async () => migrations.cell } });
  const { error } = await migrator.migrateTo(target);
  if (error) throw error;
}

/** A cell database in a SQLite file of its own, migrated up to `target`; removed after the test. */
export async function cellDatabaseAt(t: TestContext, label: string, target: string): Promise<Kysely<CellDatabase>> {
  const dir = await tempDir(label);
  const db = openSqlite<CellDatabase>(join(dir, 'metadata.db'));
  t.after(async () => {
    await db.destroy();
    await rm(dir, { recursive: true, force: true });
  });
  await migrateTo(db, target);
  return db;
}
