/**
 * Passphrase-derived AES-256-GCM keys: PBKDF2-HMAC-SHA256 over the passphrase as UTF-8 in NFC.
 * Shared by private key files (key-file.ts, docs/SPEC.md §9) and wrapped keys held by the server
 * (custody/wrapped-key.ts, docs/KEY-CUSTODY.md §5).
 *
 * The work factor is the client's to enforce: parameters read from a file or served by a server are
 * checked against this client's own bounds and refused, never obeyed, when they fall outside them. The
 * upper bound keeps a hostile server from freezing a browser with a billion iterations.
 */
import { bs, utf8 } from './bytes.js';
import { type CryptoErrorCode, ExamVaultCryptoError } from './errors.js';

export const MIN_PBKDF2_ITERATIONS = 600_000;
export const MAX_PBKDF2_ITERATIONS = 10_000_000;
export const MIN_SALT_LENGTH = 16;
/**
 * The shortest passphrase for a staff member's keys: NIST SP 800-63B's minimum for a password used
 * alone. The server stores the wrapped keys, so whoever holds it can guess offline at the cost of the
 * PBKDF2 work per guess; the CLI and the web apps both refuse shorter ones when keys are made.
 */
export const MIN_MEMBER_PASSPHRASE_LENGTH = 15;

/** A passphrase's length as the minimum counts it: Unicode code points after NFC, as it is derived. */
export function passphraseLength(passphrase: string): number {
  return [...passphrase.normalize('NFC')].length;
}

/** Throws `code` when `iterations` or the salt length fall outside this client's bounds. */
export function checkPbkdf2Parameters(iterations: number, salt: Uint8Array, code: CryptoErrorCode): void {
  if (!Number.isInteger(iterations) || iterations < MIN_PBKDF2_ITERATIONS || iterations > MAX_PBKDF2_ITERATIONS) {
    throw new ExamVaultCryptoError(code, `refusing ${iterations} PBKDF2 iterations: this client requires ${MIN_PBKDF2_ITERATIONS}..${MAX_PBKDF2_ITERATIONS}`);
  }
  if (salt.length < MIN_SALT_LENGTH) throw new ExamVaultCryptoError(code, `the salt must be at least ${MIN_SALT_LENGTH} bytes`);
}

/** The AES-256-GCM key for a passphrase. Callers check the parameters first. */
export async function derivePassphraseAesKey(passphrase: string, salt: Uint8Array, iterations: number): Promise<CryptoKey> {
  if (passphrase.length === 0) throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_ARGUMENT', 'the passphrase is empty');
  const material = await crypto.subtle.importKey('raw', bs(utf8(passphrase.normalize('NFC'))), 'PBKDF2', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt: bs(salt), iterations },
    material,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}
