import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type SafetyNumberInput, safetyNumber, safetyNumbersMatch } from '../../src/crypto/index.js';
import { rejectionCode } from './fixtures.js';
import { INSTITUTION, flipBit, member } from './custody-fixtures.js';

async function input(): Promise<SafetyNumberInput> {
  const keys = await member('rev-1');
  return { institution: INSTITUTION, member: 'rev-1', keys: { hpkePublicKey: keys.hpkePublicKey, signingPublicKey: keys.signingPublicKey } };
}

describe('safety numbers', () => {
  it('are 8 groups of 5 digits, the same every time for the same input', async () => {
    const n = await safetyNumber(await input());
    assert.match(n, /^\d{5}( \d{5}){7}$/);
    assert.equal(await safetyNumber(await input()), n);
  });

  it('change with any input: institution, member, either key, or the keys swapped', async () => {
    const base = await input();
    const n = await safetyNumber(base);
    const other = await member('rev-2');
    const variants: SafetyNumberInput[] = [
      { ...base, institution: 'inst-7f3b' },
      { ...base, member: 'rev-10' },
      { ...base, keys: { ...base.keys, hpkePublicKey: other.hpkePublicKey } },
      { ...base, keys: { ...base.keys, signingPublicKey: other.signingPublicKey } },
      { ...base, keys: { hpkePublicKey: base.keys.signingPublicKey, signingPublicKey: base.keys.hpkePublicKey } },
      // One bit of a key's y coordinate: not a valid point any more, but the number must still differ.
      { ...base, keys: { ...base.keys, hpkePublicKey: flipBit(base.keys.hpkePublicKey, 64 * 8 + 3) } },
      { ...base, keys: { ...base.keys, signingPublicKey: flipBit(base.keys.signingPublicKey, 20 * 8) } },
    ];
    const seen = new Set([n]);
    for (const v of variants) seen.add(await safetyNumber(v));
    assert.equal(seen.size, variants.length + 1);
  });

  it('keeps fields apart: moving a character from the institution to the member id changes it', async () => {
    const base = await input();
    const a = await safetyNumber({ ...base, institution: 'inst-1', member: '2rev' });
    const b = await safetyNumber({ ...base, institution: 'inst-12', member: 'rev' });
    assert.notEqual(a, b);
  });

  it('compares by digits alone', () => {
    const n = '01234 56789 01234 56789 01234 56789 01234 56789';
    assert.ok(safetyNumbersMatch(n, n.replace(/ /g, '')));
    assert.ok(safetyNumbersMatch(n, n.replace(/ /g, '-')));
    assert.ok(!safetyNumbersMatch(n, n.replace(/9$/, '8')));
    assert.ok(!safetyNumbersMatch('', ''));
    assert.ok(!safetyNumbersMatch(n.slice(0, 20), n.slice(0, 20)));
  });

  it('refuses invalid ids and keys', async () => {
    const base = await input();
    assert.equal(await rejectionCode(safetyNumber({ ...base, member: '' })), 'EV_ERR_CRYPTO_INVALID_ARGUMENT');
    assert.equal(await rejectionCode(safetyNumber({ ...base, keys: { ...base.keys, hpkePublicKey: new Uint8Array(64) } })), 'EV_ERR_CRYPTO_INVALID_KEY');
  });
});
