/**
 * The passcode format (src/protocol/passcode-format.ts): enough entropy, easy to type, and a check
 * character that catches every single mistyped character.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  LOCATOR_LENGTH,
  PASSCODE_ALPHABET,
  PASSCODE_LENGTH,
  PASSCODE_SECRET_BITS,
  SECRET_LENGTH,
  checkCharacter,
  composePasscode,
  formatPasscode,
  readPasscode,
} from '../../../src/protocol/passcode-format.js';

const locator = () => [...randomBytes(LOCATOR_LENGTH)].map((b) => PASSCODE_ALPHABET[b & 31]).join('');
const fresh = () => composePasscode(locator(), randomBytes(SECRET_LENGTH));

describe('passcode format', () => {
  it('has at least 80 random bits, in five groups of five', () => {
    assert.ok(PASSCODE_SECRET_BITS >= 80);
    assert.equal(PASSCODE_ALPHABET.length, 32);
    const shown = formatPasscode(fresh());
    assert.match(shown, /^[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){4}$/);
    assert.equal(shown.replace(/-/g, '').length, PASSCODE_LENGTH);
  });

  it('reads what people type: any case, spaces or hyphens, O for 0 and I or L for 1', () => {
    for (let i = 0; i < 200; i++) {
      const code = fresh();
      const shown = formatPasscode(code);
      assert.deepEqual(readPasscode(shown), { ok: true, passcode: code, locator: code.slice(0, LOCATOR_LENGTH) });
      assert.equal((readPasscode(` ${shown.toLowerCase().replace(/-/g, ' ')} `) as { passcode: string }).passcode, code);
      const confusable = shown.replace(/0/g, 'o').replace(/1/g, () => (Math.random() < 0.5 ? 'I' : 'l'));
      assert.equal((readPasscode(confusable) as { passcode: string }).passcode, code);
    }
  });

  it('catches every single mistyped character (all positions, all other symbols)', () => {
    for (let n = 0; n < 50; n++) {
      const code = fresh();
      for (let pos = 0; pos < PASSCODE_LENGTH; pos++) {
        for (const symbol of PASSCODE_ALPHABET) {
          if (symbol === code[pos]) continue;
          const typo = code.slice(0, pos) + symbol + code.slice(pos + 1);
          assert.deepEqual(readPasscode(typo), { ok: false, reason: 'typo' }, `${typo} (position ${pos}) was not caught`);
        }
      }
    }
  });

  it('catches most swaps of two neighbouring characters', () => {
    let swaps = 0;
    let caught = 0;
    for (let n = 0; n < 200; n++) {
      const code = fresh();
      for (let pos = 0; pos < PASSCODE_LENGTH - 1; pos++) {
        if (code[pos] === code[pos + 1]) continue;
        swaps++;
        const swapped = code.slice(0, pos) + code[pos + 1] + code[pos] + code.slice(pos + 2);
        if (!readPasscode(swapped).ok) caught++;
        else assert.deepEqual([code[pos], code[pos + 1]].sort(), ['0', 'Z']);
      }
    }
    // Luhn mod 32 misses exactly one kind: 0 and Z swapped (d(x) - x agrees for x = 0 and x = 31).
    assert.ok(caught / swaps > 0.99, `caught ${caught} of ${swaps} swaps`);
  });

  it('refuses what is not a passcode', () => {
    const code = fresh();
    for (const bad of ['', code.slice(1), `${code}0`, code.replace(/.$/, 'U'), code.replace(/^./, '*')]) {
      assert.deepEqual(readPasscode(bad), { ok: false, reason: 'malformed' }, bad);
    }
    assert.throws(() => checkCharacter('U'.repeat(PASSCODE_LENGTH - 1)), RangeError);
  });
});
