/**
 * Identifiers in custody records (institution, member): the same alphabet as recording context ids
 * (docs/SPEC.md §5), opaque, never a person's name or e-mail address.
 */
import { idPattern } from '../context.js';
import { type CryptoErrorCode, ExamVaultCryptoError } from '../errors.js';

export function isId(value: unknown): value is string {
  return typeof value === 'string' && idPattern.test(value);
}

export function checkId(name: string, value: unknown, code: CryptoErrorCode = 'EV_ERR_CRYPTO_INVALID_ARGUMENT'): string {
  if (!isId(value)) throw new ExamVaultCryptoError(code, `${name} must be 1-64 characters of [A-Za-z0-9._:-], starting with a letter or digit`);
  return value;
}

export const MAX_EPOCH = 0xffffffff;

export function isEpoch(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_EPOCH;
}

export function checkEpoch(value: unknown, code: CryptoErrorCode = 'EV_ERR_CRYPTO_INVALID_ARGUMENT'): number {
  if (!isEpoch(value)) throw new ExamVaultCryptoError(code, 'an epoch is an integer 1..2^32-1');
  return value;
}
