/**
 * The passcode format (docs/INTEGRATION.md, "Passcodes"): what a test taker types, and the rules that
 * make it hard to mistype. Pure and isomorphic: the server uses it, and so can the recorder to catch a
 * typo before sending anything.
 *
 * A passcode is 25 symbols of Crockford's base32 alphabet (0-9 and A-Z without I, L, O, U), shown in
 * five groups of five: `XXXXX-XXXXX-XXXXX-XXXXX-XXXXX`.
 *
 * - symbols 1-7: the exam's locator (35 bits), the same for every passcode of the exam: it tells the
 *   server which cell to look in and which exam's guessing budget a wrong guess spends;
 * - symbols 8-24: the secret (17 symbols, 85 random bits);
 * - symbol 25: a check character, Luhn mod 32 over the 24 before it, which catches every single
 *   mistyped character and most swaps of two neighbours.
 *
 * Reading is forgiving as Crockford's base32 intends: case does not matter, hyphens and spaces are
 * ignored, and the letters people confuse with digits are read as those digits (O as 0; I and L as 1).
 */

export const PASSCODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const LOCATOR_LENGTH = 7;
export const SECRET_LENGTH = 17;
/** Locator + secret + check character. */
export const PASSCODE_LENGTH = LOCATOR_LENGTH + SECRET_LENGTH + 1;
/** Random bits of the secret part: 5 per symbol. */
export const PASSCODE_SECRET_BITS = SECRET_LENGTH * 5;
const GROUP = 5;
const N = PASSCODE_ALPHABET.length;

/** A canonical passcode: 25 upper-case symbols, no separators, valid check character. */
export type CanonicalPasscode = string & { readonly __brand: 'CanonicalPasscode' };

export type PasscodeReading =
  | { readonly ok: true; readonly passcode: CanonicalPasscode; readonly locator: string }
  | { readonly ok: false; readonly reason: 'malformed' | 'typo' };

function valueOf(symbol: string): number {
  return PASSCODE_ALPHABET.indexOf(symbol);
}

/** Luhn mod N: every single substitution changes the sum (doubling is a permutation of 0..31). */
function luhnSum(values: readonly number[], doubleFirstFromRight: boolean): number {
  let sum = 0;
  let double = doubleFirstFromRight;
  for (let i = values.length - 1; i >= 0; i--) {
    let addend = (values[i] as number) * (double ? 2 : 1);
    addend = Math.floor(addend / N) + (addend % N);
    sum += addend;
    double = !double;
  }
  return sum % N;
}

/** The check character of 24 symbols (locator + secret). */
export function checkCharacter(body: string): string {
  const values = [...body].map(valueOf);
  if (values.length !== PASSCODE_LENGTH - 1 || values.some((v) => v < 0)) throw new RangeError('a passcode body is 24 symbols of the passcode alphabet');
  return PASSCODE_ALPHABET[(N - luhnSum(values, true)) % N] as string;
}

/** Symbols from random bytes: one per byte, its low 5 bits (256 is a multiple of 32: uniform). */
export function symbolsFrom(random: Uint8Array): string {
  let out = '';
  for (const b of random) out += PASSCODE_ALPHABET[b & 31];
  return out;
}

/** Builds a canonical passcode from an exam's locator and 17 random bytes (one per secret symbol). */
export function composePasscode(locator: string, secretRandom: Uint8Array): CanonicalPasscode {
  if (locator.length !== LOCATOR_LENGTH || [...locator].some((c) => valueOf(c) < 0)) throw new RangeError('a locator is 7 symbols of the passcode alphabet');
  if (secretRandom.length !== SECRET_LENGTH) throw new RangeError(`a passcode secret takes ${SECRET_LENGTH} random bytes`);
  const body = locator + symbolsFrom(secretRandom);
  return (body + checkCharacter(body)) as CanonicalPasscode;
}

/** The grouped form people read and type: `XXXXX-XXXXX-XXXXX-XXXXX-XXXXX`. */
export function formatPasscode(passcode: CanonicalPasscode): string {
  return (passcode.match(new RegExp(`.{1,${GROUP}}`, 'g')) as string[]).join('-');
}

/** Reads what someone typed. `typo`: right shape, wrong check character. */
export function readPasscode(typed: string): PasscodeReading {
  const symbols = typed.replace(/[\s-]/g, '').toUpperCase().replace(/O/g, '0').replace(/[IL]/g, '1');
  if (symbols.length !== PASSCODE_LENGTH || [...symbols].some((c) => valueOf(c) < 0)) return { ok: false, reason: 'malformed' };
  if (luhnSum([...symbols].map(valueOf), false) !== 0) return { ok: false, reason: 'typo' };
  return { ok: true, passcode: symbols as CanonicalPasscode, locator: symbols.slice(0, LOCATOR_LENGTH) };
}
