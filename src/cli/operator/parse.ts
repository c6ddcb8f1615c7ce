/**
 * Flag parsers of the operator commands (commander argument parsers, like ../parse.ts): a bad value is
 * a usage error (exit 2) before the data directory is touched.
 */
import { regionCatalog } from '../../server/regions/catalog.js';
import { usageError } from '../errors.js';

/** The catalog as a hint lists it: `us (United States), ca (Canada), ...`. */
export function regionList(): string {
  return regionCatalog.map((r) => `${r.id} (${r.name})`).join(', ');
}

/** Parses `--region`: an id of the region catalog. */
export function parseRegion(value: string): string {
  if (!regionCatalog.some((r) => r.id === value)) throw usageError(`unknown region '${value}'`, `--region is one of ${regionList()}`);
  return value;
}

const ttlUnits: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 };

/**
 * Parses `--ttl`: whole seconds, or a whole number with a unit s, m, h or d (`5400`, `90m`, `6h`).
 * The allowed range is the attempt service's to decide; it refuses what it does not allow.
 */
export function parseTtl(value: string): number {
  const m = /^(\d{1,9})([smhd]?)$/.exec(value.trim());
  const seconds = m ? Number(m[1]) * (ttlUnits[m[2] as string] as number) : NaN;
  if (!(seconds > 0)) throw usageError(`invalid --ttl '${value}'`, '--ttl is a lifetime in whole seconds, or with a unit: 5400, 90m, 6h, 2d');
  return seconds;
}
