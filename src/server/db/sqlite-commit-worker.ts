/**
 * A group-commit executor (group-commit.ts) for SQLite that commits on a connection of its own in a
 * worker thread. better-sqlite3 is synchronous: on the event loop, each commit would hold every
 * request for the length of an fsync of the WAL. In the worker the fsync holds only the worker; the
 * server's own connection keeps reading meanwhile (WAL readers never wait for the writer).
 *
 * The worker's code is plain JavaScript given as a string, so it runs the same from dist/ and from the
 * TypeScript sources under test. Errors come back as their message and SQLite code.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { CompiledQuery } from 'kysely';
import type { CommitExecutor, WriteOutcome } from './group-commit.js';
import { SQLITE_PRAGMAS } from './dialect.sqlite.js';

const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
for (const p of workerData.pragmas) db.pragma(p);
const statements = new Map();
function prepare(sql) {
  let stmt = statements.get(sql);
  if (!stmt) {
    stmt = db.prepare(sql);
    if (statements.size >= 256) statements.delete(statements.keys().next().value);
    statements.set(sql, stmt);
  }
  return stmt;
}
function execute(q) {
  const stmt = prepare(q.sql);
  if (stmt.reader) return { rows: stmt.all(q.parameters), changes: 0 };
  return { rows: [], changes: stmt.run(q.parameters).changes };
}
// Prepared once: db.exec parses its SQL text on every call, four times per write of a batch.
const control = Object.fromEntries(['BEGIN IMMEDIATE', 'COMMIT', 'ROLLBACK', 'SAVEPOINT w', 'RELEASE w', 'ROLLBACK TO w'].map((sql) => [sql, db.prepare(sql)]));
const run = (sql) => control[sql].run();
const failure = (e) => ({ message: String(e && e.message), code: e && e.code });
// Every write of a batch in one transaction, without savepoints: a savepoint and its release around
// each write were half of the statements a batch ran, and almost no batch has a failing write. Null
// when a write failed: nothing was kept, and the batch runs again with each write in a savepoint of
// its own (commitEach), so that only the failing one is undone. A batch of one write fails whole.
function commitAll(writes) {
  run('BEGIN IMMEDIATE');
  let outcomes;
  try {
    outcomes = writes.map((queries) => ({ ok: true, results: queries.map(execute) }));
  } catch (e) {
    if (db.inTransaction) run('ROLLBACK');
    if (writes.length === 1) throw e;
    return null;
  }
  run('COMMIT');
  return outcomes;
}
function commitEach(writes) {
  run('BEGIN IMMEDIATE');
  const outcomes = writes.map((queries) => {
    run('SAVEPOINT w');
    try {
      const results = queries.map(execute);
      run('RELEASE w');
      return { ok: true, results };
    } catch (e) {
      run('ROLLBACK TO w');
      run('RELEASE w');
      return { ok: false, error: failure(e) };
    }
  });
  run('COMMIT');
  return outcomes;
}
parentPort.on('message', (m) => {
  if (m.close) {
    db.close();
    parentPort.close();
    return;
  }
  let outcomes;
  try {
    outcomes = commitAll(m.writes) ?? commitEach(m.writes);
  } catch (e) {
    if (db.inTransaction) run('ROLLBACK');
    parentPort.postMessage({ id: m.id, error: failure(e) });
    return;
  }
  parentPort.postMessage({ id: m.id, outcomes });
});
`;

interface Reply {
  readonly id: number;
  readonly outcomes?: WriteOutcome[];
  readonly error?: { message: string; code?: string };
}

function revive(e: { message: string; code?: string }): Error {
  return Object.assign(new Error(e.message), e.code ? { code: e.code } : {});
}

/** Commits to the SQLite file at `path` from a worker thread. The database must be migrated already. */
export function sqliteWorkerExecutor(path: string): CommitExecutor {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(workerSource, { eval: true, workerData: { path, driver, pragmas: SQLITE_PRAGMAS } });
  // Idle, the worker does not keep the process alive; a commit in flight does.
  worker.unref();
  const waiting = new Map<number, { resolve(o: WriteOutcome[]): void; reject(e: unknown): void }>();
  let next = 0;
  let failed: Error | null = null;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const fail = (error: Error) => {
    failed = error;
    for (const w of waiting.values()) w.reject(error);
    waiting.clear();
  };
  worker.on('message', (m: Reply) => {
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (waiting.size === 0) worker.unref();
    if (m.error) w.reject(revive(m.error));
    else w.resolve((m.outcomes as WriteOutcome[]).map((o) => (o.ok ? o : { ok: false, error: revive(o.error as { message: string }) })));
  });
  worker.on('error', (e) => fail(e));
  worker.on('exit', () => fail(new Error('the SQLite commit worker stopped')));
  return {
    commit(writes: readonly (readonly CompiledQuery[])[]) {
      if (failed) return Promise.reject(failed);
      const id = next++;
      return new Promise<WriteOutcome[]>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        worker.ref();
        worker.postMessage({ id, writes: writes.map((qs) => qs.map((q) => ({ sql: q.sql, parameters: q.parameters }))) });
      });
    },
    async close() {
      if (failed) return;
      worker.postMessage({ close: true });
      worker.ref();
      await exited;
    },
  };
}
