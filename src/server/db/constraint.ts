/**
 * Whether a failed query was refused by a constraint of the database (a key already taken, a
 * reference to a row that is gone), as opposed to failing to run: SQLite's `SQLITE_CONSTRAINT*`
 * codes, which better-sqlite3 and the group-commit worker pass on, and PostgreSQL's class 23.
 */
export function isConstraintViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_CONSTRAINT') || /^23[0-9A-Z]{3}$/.test(code));
}
