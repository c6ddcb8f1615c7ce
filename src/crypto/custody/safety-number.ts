/**
 * Safety numbers (docs/KEY-CUSTODY.md §4): the short code an admin compares with the one the member
 * reads out from their own screen before approving their keys. It covers the institution, the member
 * id and both public keys, so a server that substitutes any of them shows a different number.
 *
 * 8 groups of 5 digits: 40 digits, about 133 bits against a second preimage. The hash is iterated
 * (PBKDF2-HMAC-SHA384, 100,000 iterations: one native call, ~50 ms) so that each key a substituting
 * server tries costs it 10^5 times more; that matters most when a hurried admin compares only the
 * first groups.
 */
import { bs, concat, str8, utf8 } from '../bytes.js';
import { checkId } from './ids.js';
import { type MemberPublicKeys, checkMemberPublicKeys } from './member-keys.js';

export const SAFETY_NUMBER_ITERATIONS = 100_000;
export const SAFETY_NUMBER_GROUPS = 8;
const SALT = utf8('examvault/v1/safety-number');
const VERSION = 1;

export interface SafetyNumberInput {
  readonly institution: string;
  readonly member: string;
  readonly keys: MemberPublicKeys;
}

/** The safety number as 8 space-separated groups of 5 digits, e.g. `01234 56789 …`. */
export async function safetyNumber(input: SafetyNumberInput): Promise<string> {
  checkMemberPublicKeys(input.keys);
  const password = concat(
    new Uint8Array([VERSION]),
    str8(checkId('institution', input.institution)),
    str8(checkId('member', input.member)),
    input.keys.hpkePublicKey,
    input.keys.signingPublicKey,
  );
  const material = await crypto.subtle.importKey('raw', bs(password), 'PBKDF2', false, ['deriveBits']);
  const out = new Uint8Array(
    await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-384', salt: bs(SALT), iterations: SAFETY_NUMBER_ITERATIONS }, material, SAFETY_NUMBER_GROUPS * 5 * 8),
  );
  const groups: string[] = [];
  for (let g = 0; g < SAFETY_NUMBER_GROUPS; g++) {
    // Five bytes as a big-endian 40-bit integer, mod 100000 (bias below 10^-7, as in Signal's scheme).
    let v = 0;
    for (let i = 0; i < 5; i++) v = v * 256 + (out[5 * g + i] as number);
    groups.push(String(v % 100_000).padStart(5, '0'));
  }
  return groups.join(' ');
}

/** Compares two safety numbers by their digits alone (spaces, dashes and line breaks ignored). */
export function safetyNumbersMatch(a: string, b: string): boolean {
  const digits = (s: string) => s.replace(/[\s-]/g, '');
  const x = digits(a);
  return /^\d{40}$/.test(x) && x === digits(b);
}
