/**
 * Queries compiled once. Kysely builds and compiles a query afresh on every call, which costs tens of
 * microseconds: more than running the prepared statement itself, and several times per uploaded
 * segment. For the few queries on the upload path, a template is compiled once per database with a
 * marker in place of each value, and each call binds new values into the same SQL. The SQL still comes
 * from Kysely's compiler for the database's dialect, so feature code stays dialect-free.
 */
import { type Compilable, CompiledQuery, type Kysely } from 'kysely';

const marker = (i: number) => `\u0000template-value-${i}\u0000`;

type Template<V extends unknown[]> = (...values: V) => CompiledQuery;

function compileTemplate<DB, V extends unknown[]>(db: Kysely<DB>, build: (db: Kysely<DB>, ...values: V) => Compilable): Template<V> {
  const arity = build.length - 1;
  const markers = Array.from({ length: arity }, (_, i) => marker(i));
  const compiled = build(db, ...(markers as unknown as V)).compile();
  const slots = compiled.parameters.map((p) => markers.indexOf(p as string));
  for (let i = 0; i < arity; i++) {
    // A value Kysely wrote into the SQL text instead of binding it would be frozen into the template.
    if (!slots.includes(i)) throw new Error(`query template value ${i} is not bound as a parameter: ${compiled.sql}`);
  }
  return (...values) => CompiledQuery.raw(compiled.sql, slots.map((s, j) => (s >= 0 ? values[s] : compiled.parameters[j])));
}

/**
 * Declares a query template: `build` takes the database and its values as plain parameters (no rest or
 * default parameters: their number is the template's arity), and uses each value only as a value,
 * never to decide the query's shape. The result compiles it once per database.
 */
export function queryTemplate<DB, V extends unknown[]>(build: (db: Kysely<DB>, ...values: V) => Compilable): (db: Kysely<DB>, ...values: V) => CompiledQuery {
  const perDatabase = new WeakMap<Kysely<DB>, Template<V>>();
  return (db, ...values) => {
    let template = perDatabase.get(db);
    if (!template) {
      template = compileTemplate(db, build);
      perDatabase.set(db, template);
    }
    return template(...values);
  };
}

/** Runs a compiled query on `db` and returns its rows. */
export async function rowsOf<R>(db: { executeQuery(query: CompiledQuery): Promise<{ rows: unknown[] }> }, query: CompiledQuery): Promise<R[]> {
  return (await db.executeQuery(query)).rows as R[];
}
