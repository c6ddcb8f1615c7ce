/**
 * Case bundles (docs/SPEC.md §12), in Node and in Chromium: a reviewer's export of an attempt's
 * recordings opens for that reviewer's keys alone, byte-identical, and every change a server or a
 * thief could make to it is refused before any plaintext is released.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concat, u32, utf8 } from '../../src/crypto/bytes.js';
import { sign } from '../../src/crypto/custody/signing-key.js';
import { type CaseBundleInput, createCaseBundle, isCaseBundle, openCaseBundle, unwrapRecordingKey } from '../../src/crypto/index.js';
import { member } from './custody-fixtures.js';
import { baseContext, collect, epochKeys, equalBytes, randomData, rejectionCode, sealFile } from './fixtures.js';

async function caseOf(plaintexts: readonly Uint8Array[]): Promise<Omit<CaseBundleInput, 'signingKey' | 'keys'>> {
  const { privateKey } = await epochKeys();
  const items = await Promise.all(plaintexts.map(async (p, i) => {
    const { file, sealer } = await sealFile(p, { context: { ...baseContext, recording: `rec-${i}`, track: i === 0 ? 'camera' : 'screen' } });
    return { sealed: file, dataKey: await unwrapRecordingKey(sealer.header, privateKey) };
  }));
  return { institution: baseContext.institution, exam: baseContext.exam, attempt: baseContext.attempt, member: 'rev-1', items };
}

describe('case bundles', () => {
  it('open for their member, byte-identical, recording by recording', async () => {
    const plaintexts = [randomData(3000), randomData(1)];
    const rev = await member('rev-1');
    const bundle = await createCaseBundle({ ...(await caseOf(plaintexts)), keys: rev, signingKey: rev.signing.privateKey, createdAt: 1 });
    assert.ok(isCaseBundle(bundle));
    const opened = await openCaseBundle(bundle, { member: 'rev-1', keys: rev, hpkePrivateKey: rev.hpke.privateKey });
    assert.deepEqual(opened.manifest.items.map((i) => [i.recording, i.track]), [['rec-0', 'camera'], ['rec-1', 'screen']]);
    for (const [i, item] of opened.items.entries()) assert.ok(equalBytes(await collect(item.plaintext()), plaintexts[i] as Uint8Array), `item ${i}`);
  });

  it('refuse another member, other keys, a forged signature, a changed byte and bytes added or cut', async () => {
    const [rev, other] = await Promise.all([member('rev-1'), member('rev-2')]);
    const input = await caseOf([randomData(2000), randomData(500)]);
    const bundle = await createCaseBundle({ ...input, keys: rev, signingKey: rev.signing.privateKey });
    const as = (keys = rev, id = 'rev-1') => ({ member: id, keys, hpkePrivateKey: keys.hpke.privateKey });
    assert.equal(await rejectionCode(openCaseBundle(bundle, as(other, 'rev-1'))), 'EV_ERR_CUSTODY_BINDING_MISMATCH');
    assert.equal(await rejectionCode(openCaseBundle(bundle, as(rev, 'rev-2'))), 'EV_ERR_CUSTODY_BINDING_MISMATCH');
    // Made for rev-1 by someone holding only rev-1's public keys (a server could): the signature is not rev-1's.
    const forged = await createCaseBundle({ ...input, keys: rev, signingKey: other.signing.privateKey });
    assert.equal(await rejectionCode(openCaseBundle(forged, as())), 'EV_ERR_CUSTODY_SIGNATURE_INVALID');
    const changed = bundle.slice();
    changed[changed.length - 100] = (changed[changed.length - 100] as number) ^ 1;
    assert.equal(await rejectionCode(openCaseBundle(changed, as())), 'EV_ERR_CRYPTO_DECRYPTION_FAILED');
    assert.equal(await rejectionCode(openCaseBundle(bundle.subarray(0, bundle.length - 1), as())), 'EV_ERR_FORMAT_TRUNCATED');
    const longer = new Uint8Array(bundle.length + 1);
    longer.set(bundle);
    assert.equal(await rejectionCode(openCaseBundle(longer, as())), 'EV_ERR_FORMAT_TRAILING_DATA');
    const version = bundle.slice();
    version[6] = 2;
    assert.equal(await rejectionCode(openCaseBundle(version, as())), 'EV_ERR_FORMAT_UNSUPPORTED_VERSION');
  });

  it('open each recording with its own data key only: keys swapped between recordings do not open', async () => {
    const rev = await member('rev-1');
    const input = await caseOf([randomData(100), randomData(100)]);
    const [a, b] = input.items;
    assert.ok(a && b);
    // A wrong data key is refused when the bundle is made (the header commits to its key).
    assert.equal(await rejectionCode(createCaseBundle({ ...input, items: [{ sealed: a.sealed, dataKey: b.dataKey }], keys: rev, signingKey: rev.signing.privateKey })), 'EV_ERR_CRYPTO_DECRYPTION_FAILED');
    const bundle = await createCaseBundle({ ...input, keys: rev, signingKey: rev.signing.privateKey });
    // Swap the two sealed data keys in the manifest and re-sign it as rev-1: each header commits to its own key.
    const length = new DataView(bundle.buffer, bundle.byteOffset).getUint32(7);
    const manifest = JSON.parse(new TextDecoder().decode(bundle.subarray(11, 11 + length))) as { items: { enc: string; wrappedKey: string }[] };
    const [x, y] = manifest.items;
    assert.ok(x && y);
    [x.enc, y.enc, x.wrappedKey, y.wrappedKey] = [y.enc, x.enc, y.wrappedKey, x.wrappedKey];
    const bytes = utf8(JSON.stringify(manifest));
    const signature = await sign(rev.signing.privateKey, concat(utf8('examvault/v1/case-bundle'), u32(bytes.length), bytes));
    const swapped = concat(utf8('EVCASE'), new Uint8Array([1]), u32(bytes.length), bytes, signature, a.sealed, b.sealed);
    assert.equal(await rejectionCode(openCaseBundle(swapped, { member: 'rev-1', keys: rev, hpkePrivateKey: rev.hpke.privateKey })), 'EV_ERR_CRYPTO_DECRYPTION_FAILED');
  });
});
