/**
 * Identifiers generated in application code (never by a database, so every SQL dialect agrees):
 * a prefix and 20 characters of lowercase Crockford base32 = 100 random bits. They match the sealed
 * format's id rule ([A-Za-z0-9._:-], SPEC §5).
 */
import { randomBytes } from 'node:crypto';

const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';

export function newId(prefix: string): string {
  const bytes = randomBytes(20);
  let out = `${prefix}-`;
  for (const b of bytes) out += alphabet[b & 31];
  return out;
}
