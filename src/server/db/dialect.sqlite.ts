/**
 * The embedded SQL dialect: one SQLite file per database through better-sqlite3 (the only module
 * that imports it). WAL with synchronous=FULL: a committed transaction is on disk when commit
 * returns, which is what "acknowledged only when durable" needs; WAL lets readers run beside the
 * writer and turns each commit into one sequential append plus one fsync.
 *
 * Kysely prepares every query it runs afresh; on the upload path the same few statements run
 * thousands of times a second, and parsing and planning them again each time cost more than running
 * them. So prepared statements are kept, keyed by their SQL text, least recently used first out.
 * Kysely uses one connection and runs one query on it at a time, so a cached statement is never in
 * use twice at once. Its transactions begin IMMEDIATE (see `prepare`).
 */
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';

/** Distinct SQL texts kept prepared per database. */
const STATEMENT_CACHE = 256;

function cachingStatements(database: Database.Database): Database.Database {
  const cache = new Map<string, Database.Statement>();
  const prepare = (text: string): Database.Statement => {
    // Kysely opens transactions with a plain BEGIN, which takes the write lock only at the first write;
    // if another connection (the group-commit worker) commits in between, that write fails at once
    // with SQLITE_BUSY_SNAPSHOT instead of waiting. BEGIN IMMEDIATE takes the lock first, waiting
    // (busy_timeout) for a commit under way.
    const sql = text === 'begin' ? 'begin immediate' : text;
    let stmt = cache.get(sql);
    if (stmt) {
      cache.delete(sql);
    } else {
      stmt = database.prepare(sql);
      if (cache.size >= STATEMENT_CACHE) cache.delete(cache.keys().next().value as string);
    }
    cache.set(sql, stmt);
    return stmt;
  };
  return new Proxy(database, {
    get(target, property, receiver) {
      if (property === 'prepare') return prepare;
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * Every connection's settings, the group-commit worker's (sqlite-commit-worker.ts) included.
 * `temp_store = MEMORY`: a write of a group commit that runs in a savepoint (every write on the
 * Kysely executor; on the commit worker, a batch run again after a write failed) keeps its journal of
 * page images in memory, where past 64 KiB it spilled to a temporary file, thousands of writes a second
 * to a file that is never read unless a write fails.
 */
export const SQLITE_PRAGMAS: readonly string[] = ['journal_mode = WAL', 'synchronous = FULL', 'foreign_keys = ON', 'busy_timeout = 5000', 'temp_store = MEMORY'];

export function openSqlite<Schema>(path: string): Kysely<Schema> {
  const database = new Database(path);
  for (const pragma of SQLITE_PRAGMAS) database.pragma(pragma);
  return new Kysely<Schema>({ dialect: new SqliteDialect({ database: cachingStatements(database) }) });
}
