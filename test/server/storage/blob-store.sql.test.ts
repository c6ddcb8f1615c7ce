import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { openSqlite } from '../../../src/server/db/dialect.sqlite.js';
import { migrateToLatest } from '../../../src/server/db/migrate.js';
import type { CellDatabase } from '../../../src/server/db/schema.js';
import { SqlBlobStore } from '../../../src/server/storage/blob-store.sql.js';
import { blobStoreContract } from './blob-store.contract.js';
import { tempDir } from './support.js';

blobStoreContract('SqlBlobStore over SQLite', async () => {
  const dir = await tempDir('sql-store');
  const db = openSqlite<CellDatabase>(join(dir, 'cell.db'));
  await migrateToLatest(db as never, 'cell');
  const store = new SqlBlobStore(db);
  return {
    store,
    async cleanup() {
      await store.close();
      await db.destroy();
      await rm(dir, { recursive: true, force: true });
    },
  };
}, { maxObjectBytes: 64 * 1024 });
