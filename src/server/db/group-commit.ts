/**
 * Group commit: many small writes to one database, each acknowledged only once committed, sharing
 * transactions. With SQLite (WAL, synchronous=FULL) a commit is one fsync whatever it holds, so a
 * burst of N writes costs one fsync instead of N, and the writes of different features (segment
 * index rows, at-rest key records, log store locations) share the same commits.
 *
 * A write is a list of compiled queries (Kysely's `.compile()`, so any dialect): `run(queries)`
 * queues it; the writer waits one turn of the event loop so the writes of requests already in flight
 * join, then hands every queued write to its executor, which runs them in one transaction as if each
 * were inside its own savepoint: a write that fails has its own changes undone and its own promise
 * rejected, and the rest commit. Writes queued meanwhile join the next transaction. Writes commit in
 * the order they were queued. A failed commit rejects the whole batch.
 *
 * Executors: `kyselyExecutor` runs the transaction on the database's own connection (any dialect);
 * sqlite-commit-worker.ts runs it on a connection of its own in a worker thread, so that SQLite's
 * synchronous commit — its fsync — never holds the event loop.
 */
import { CompiledQuery, type Kysely } from 'kysely';

export interface QueryResult {
  /** Rows a reading query (or RETURNING) produced. */
  readonly rows: readonly Record<string, unknown>[];
  /** Rows a writing query inserted, updated or deleted. */
  readonly changes: number;
}

export type WriteOutcome = { readonly ok: true; readonly results: readonly QueryResult[] } | { readonly ok: false; readonly error: unknown };

export interface CommitExecutor {
  /** Runs every write in one transaction, a failing write undone alone (as in a savepoint of its own); rejects only when the commit fails. */
  commit(writes: readonly (readonly CompiledQuery[])[]): Promise<WriteOutcome[]>;
  /** Releases what the executor holds (a worker, a connection). */
  close(): Promise<void>;
}

interface Pending {
  readonly queries: readonly CompiledQuery[];
  resolve(results: readonly QueryResult[]): void;
  reject(error: unknown): void;
}

export class GroupCommit {
  private queue: Pending[] = [];
  private flushing: Promise<void> | null = null;
  /** Counters for tests and metrics: `writes` committed in `commits` transactions. */
  readonly stats = { writes: 0, commits: 0 };

  constructor(
    private readonly executor: CommitExecutor,
    private readonly maxBatch = 2048,
  ) {}

  /** Resolves with each query's result once the write is committed. */
  run(queries: readonly CompiledQuery[]): Promise<readonly QueryResult[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ queries, resolve, reject });
      this.flushing ??= this.drain();
    });
  }

  /** Resolves once every write queued so far has settled. */
  async idle(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  /** Waits for the writes queued so far, then closes the executor. */
  async close(): Promise<void> {
    await this.idle();
    await this.executor.close();
  }

  private async drain(): Promise<void> {
    await new Promise((r) => setImmediate(r));
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      let outcomes: WriteOutcome[];
      try {
        outcomes = await this.executor.commit(batch.map((p) => p.queries));
      } catch (error) {
        for (const p of batch) p.reject(error);
        continue;
      }
      this.stats.commits++;
      this.stats.writes += batch.length;
      batch.forEach((p, i) => {
        const o = outcomes[i] as WriteOutcome;
        if (o.ok) p.resolve(o.results);
        else p.reject(o.error);
      });
    }
    this.flushing = null;
  }
}

/** Runs the transactions on `db`'s own connection, through Kysely: works on every dialect. */
export function kyselyExecutor<DB>(db: Kysely<DB>): CommitExecutor {
  return {
    commit: (writes) =>
      db.transaction().execute(async (trx) => {
        const outcomes: WriteOutcome[] = [];
        const run = async (queries: readonly CompiledQuery[]) => {
          const results: QueryResult[] = [];
          for (const q of queries) {
            const r = await trx.executeQuery(q);
            results.push({ rows: r.rows as Record<string, unknown>[], changes: Number(r.numAffectedRows ?? 0) });
          }
          return results;
        };
        for (const queries of writes) {
          if (writes.length === 1) {
            outcomes.push({ ok: true, results: await run(queries) });
            continue;
          }
          await trx.executeQuery(savepoint('savepoint w'));
          try {
            outcomes.push({ ok: true, results: await run(queries) });
            await trx.executeQuery(savepoint('release w'));
          } catch (error) {
            await trx.executeQuery(savepoint('rollback to w'));
            await trx.executeQuery(savepoint('release w'));
            outcomes.push({ ok: false, error });
          }
        }
        return outcomes;
      }),
    close: async () => {},
  };
}

const savepoint = (sql: string) => CompiledQuery.raw(sql);
