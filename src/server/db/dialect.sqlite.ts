/**
 * The embedded SQL dialect: one SQLite file per database through better-sqlite3 (the only module
 * that imports it). WAL with synchronous=FULL: a committed transaction is on disk when commit
 * returns, which is what "acknowledged only when durable" needs; WAL lets readers run beside the
 * writer and turns each commit into one sequential append plus one fsync.
 */
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';

export function openSqlite<Schema>(path: string): Kysely<Schema> {
  const database = new Database(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  return new Kysely<Schema>({ dialect: new SqliteDialect({ database }) });
}
