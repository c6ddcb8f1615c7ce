import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  deriveRecoveryKeys,
  exportSigningPublicKey,
  formatRecoveryKey,
  generateRecoverySecret,
  parseRecoveryKey,
  signStatement,
  verifyStatement,
} from '../../src/crypto/index.js';
import { rejectionCode } from './fixtures.js';
import { INSTITUTION, T0, trusting } from './custody-fixtures.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

describe('recovery key', () => {
  it('is shown as 14 groups of 4 base32 characters and reads back to the same secret', async () => {
    const secret = generateRecoverySecret();
    const text = await formatRecoveryKey(secret);
    assert.match(text, /^[A-Z2-7]{4}(-[A-Z2-7]{4}){13}$/);
    assert.deepEqual(await parseRecoveryKey(text), secret);
    assert.deepEqual(await parseRecoveryKey(` ${text.toLowerCase().replace(/-/g, ' ')}\n`), secret);
    assert.deepEqual(await parseRecoveryKey(text.replace(/O/g, '0').replace(/I/g, '1').replace(/B/g, '8')), secret);
  });

  it('detects every one-character typo and every swap of neighbouring characters', async () => {
    const text = (await formatRecoveryKey(new Uint8Array(32).fill(0xa5))).replace(/-/g, '');
    let checked = 0;
    for (let i = 0; i < text.length; i++) {
      for (const c of ALPHABET) {
        if (c === text[i]) continue;
        const typo = text.slice(0, i) + c + text.slice(i + 1);
        assert.equal(await rejectionCode(parseRecoveryKey(typo)), 'EV_ERR_CUSTODY_RECOVERY_KEY_CHECKSUM', typo);
        checked++;
      }
      if (i + 1 < text.length && text[i] !== text[i + 1]) {
        const swapped = text.slice(0, i) + text[i + 1] + text[i] + text.slice(i + 2);
        assert.equal(await rejectionCode(parseRecoveryKey(swapped)), 'EV_ERR_CUSTODY_RECOVERY_KEY_CHECKSUM');
      }
    }
    assert.equal(checked, 56 * 31);
  });

  it('refuses text that is not a recovery key', async () => {
    const text = await formatRecoveryKey(new Uint8Array(32));
    for (const bad of ['', text.slice(0, -1), `${text}A`, text.replace(/^./, '9'), text.replace(/^./, '?')]) {
      assert.equal(await rejectionCode(parseRecoveryKey(bad)), 'EV_ERR_CUSTODY_RECOVERY_KEY_INVALID', bad);
    }
  });

  it('derives the same HPKE and signing keys from the same secret, and others from another', async () => {
    const secret = new Uint8Array(32).fill(1);
    const a = await deriveRecoveryKeys(secret);
    const b = await deriveRecoveryKeys(await parseRecoveryKey(await formatRecoveryKey(secret)));
    assert.deepEqual(a.hpkePublicKey, b.hpkePublicKey);
    assert.deepEqual(a.signingPublicKey, b.signingPublicKey);
    assert.deepEqual(await exportSigningPublicKey(a.signing.publicKey), a.signingPublicKey);
    assert.notDeepEqual(a.hpkePublicKey, a.signingPublicKey);
    const c = await deriveRecoveryKeys(new Uint8Array(32).fill(2));
    assert.notDeepEqual(c.hpkePublicKey, a.hpkePublicKey);
    assert.notDeepEqual(c.signingPublicKey, a.signingPublicKey);
    assert.equal(await rejectionCode(deriveRecoveryKeys(new Uint8Array(16))), 'EV_ERR_CRYPTO_INVALID_ARGUMENT');
  });

  it('signs the institution statement that roots the log', async () => {
    const keys = await deriveRecoveryKeys(new Uint8Array(32).fill(3));
    const signed = await signStatement({ type: 'institution', institution: INSTITUTION, timestamp: T0, hpkePublicKey: keys.hpkePublicKey, signingPublicKey: keys.signingPublicKey }, keys.signing.privateKey);
    const result = await verifyStatement(signed, trusting({}, keys.signingPublicKey), 'institution');
    assert.ok(result.ok);
  });
});
