import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  type Statement,
  type SignerKeyResolver,
  decodeStatement,
  encodeStatement,
  signStatement,
  statementId,
  statementTypes,
  verified,
  verifyStatement,
} from '../../src/crypto/index.js';
import { concat, str8 } from '../../src/crypto/bytes.js';
import { sign } from '../../src/crypto/custody/signing-key.js';
import { rejectionCode } from './fixtures.js';
import { INSTITUTION, T0, member, sampleStatements, sampleTrust, trusting } from './custody-fixtures.js';

function decodeCode(bytes: Uint8Array): string {
  try {
    decodeStatement(bytes);
  } catch (e) {
    return (e as { code: string }).code;
  }
  return 'decoded';
}

describe('statements: encoding', () => {
  let samples: { statement: Statement; signer: CryptoKey }[];
  before(async () => {
    samples = await sampleStatements();
  });

  it('covers every type', () => {
    assert.deepEqual([...new Set(samples.map((s) => s.statement.type))], [...statementTypes]);
  });

  it('decodes to what was encoded, and re-encodes to the same bytes', () => {
    for (const { statement } of samples) {
      const bytes = encodeStatement(statement);
      assert.deepEqual(bytes.subarray(0, 6), new TextEncoder().encode('EVSTMT'));
      assert.equal(bytes[7], statementTypes.indexOf(statement.type) + 1);
      assert.deepEqual(decodeStatement(bytes), statement);
      assert.deepEqual(encodeStatement(decodeStatement(bytes)), bytes);
    }
  });

  it('refuses statements that break a field rule', () => {
    const [inst, , enrol, epoch, , approval, revocation] = samples.map((s) => s.statement) as Statement[];
    const bad = [
      { ...inst, institution: 'bad id' },
      { ...inst, timestamp: -1 },
      { ...inst, timestamp: 2 ** 53 },
      { ...epoch, epoch: 0 },
      { ...revocation, epoch: 1 },
      { ...approval, fingerprint: new Uint8Array(31) },
      { ...inst, hpkePublicKey: new Uint8Array(65) },
      { ...enrol, enrolledBy: { kind: 'admin', admin: 'adm-2' } },
      { ...inst, type: 'welcome' },
    ] as Statement[];
    for (const s of bad) assert.throws(() => encodeStatement(s), { code: 'EV_ERR_CRYPTO_INVALID_ARGUMENT' }, JSON.stringify(s).slice(0, 60));
  });

  it('refuses every non-canonical or malformed encoding with its code', () => {
    const bytes = encodeStatement((samples[5] as { statement: Statement }).statement); // approval
    const edit = (f: (b: Uint8Array) => void) => {
      const b = bytes.slice();
      f(b);
      return b;
    };
    const first = 10; // first field: institution, tag 1
    const instLen = bytes[first + 2] as number;
    const second = first + 3 + instLen; // timestamp, tag 2
    assert.equal(decodeCode(bytes), 'decoded');
    assert.equal(decodeCode(bytes.subarray(0, 9)), 'EV_ERR_CUSTODY_STATEMENT_MALFORMED');
    assert.equal(decodeCode(edit((b) => (b[0] = 0))), 'EV_ERR_CUSTODY_STATEMENT_MALFORMED');
    assert.equal(decodeCode(edit((b) => (b[6] = 2))), 'EV_ERR_CUSTODY_STATEMENT_UNSUPPORTED');
    assert.equal(decodeCode(edit((b) => (b[7] = 7))), 'EV_ERR_CUSTODY_STATEMENT_UNSUPPORTED');
    assert.equal(decodeCode(edit((b) => (b[7] = 6))), 'EV_ERR_CUSTODY_STATEMENT_MALFORMED'); // approval fields read as a revocation
    assert.equal(decodeCode(bytes.subarray(0, -1)), 'EV_ERR_CUSTODY_STATEMENT_MALFORMED');
    assert.equal(decodeCode(concat(bytes, new Uint8Array(1))), 'EV_ERR_CUSTODY_STATEMENT_MALFORMED');
    assert.equal(decodeCode(edit((b) => (b[second] = 1))), 'EV_ERR_CUSTODY_STATEMENT_MALFORMED'); // tags out of order
    assert.equal(decodeCode(edit((b) => (b[first + 3] = 0x20))), 'EV_ERR_CUSTODY_STATEMENT_MALFORMED'); // space in an id
    assert.equal(decodeCode(edit((b) => (b[second + 3] = 0xff))), 'EV_ERR_CUSTODY_STATEMENT_MALFORMED'); // timestamp over 2^53
    // A field dropped (the body length adjusted): exactly the type's fields or nothing.
    const withoutFirst = concat(bytes.subarray(0, 8), Uint8Array.of(0, bytes.length - 10 - 3 - instLen), bytes.subarray(second));
    assert.equal(decodeCode(withoutFirst), 'EV_ERR_CUSTODY_STATEMENT_MALFORMED');
  });
});

describe('statements: signatures', () => {
  let samples: { statement: Statement; signer: CryptoKey }[];
  let trust: SignerKeyResolver;
  before(async () => {
    samples = await sampleStatements();
    trust = await sampleTrust();
  });

  it('every type signs and verifies with the signer its type allows', async () => {
    for (const { statement, signer } of samples) {
      const signed = await signStatement(statement, signer);
      assert.equal(signed.length, encodeStatement(statement).length + 64);
      const result = await verifyStatement(signed, trust, statement.type);
      assert.ok(result.ok, `${statement.type}: ${result.ok ? '' : result.message}`);
      assert.deepEqual(result.statement, statement);
      assert.equal(result.id, await statementId(encodeStatement(statement)));
    }
  });

  it('signs the domain-separated message str8("examvault/v1/statement/<type>") ‖ statement', async () => {
    const { statement, signer } = samples[3] as { statement: Statement; signer: CryptoKey };
    const bytes = encodeStatement(statement);
    const bySpec = concat(bytes, await sign(signer, concat(str8('examvault/v1/statement/epoch'), bytes)));
    assert.ok((await verifyStatement(bySpec, trust)).ok);
    const wrongLabel = concat(bytes, await sign(signer, concat(str8('examvault/v1/statement/approval'), bytes)));
    const result = await verifyStatement(wrongLabel, trust);
    assert.equal(result.ok ? 'ok' : result.code, 'EV_ERR_CUSTODY_SIGNATURE_INVALID');
  });

  it('fails with a typed result for an unknown signer, a wrong key, or the wrong type', async () => {
    const { statement, signer } = samples[5] as { statement: Statement; signer: CryptoKey };
    const signed = await signStatement(statement, signer);
    const codeOf = async (r: Promise<{ ok: boolean; code?: string }>) => {
      const x = await r;
      return x.ok ? 'ok' : x.code;
    };
    assert.equal(await codeOf(verifyStatement(signed, trusting({}))), 'EV_ERR_CUSTODY_UNKNOWN_SIGNER');
    assert.equal(await codeOf(verifyStatement(signed, trusting({ 'adm-1': (await member('adm-2')).signingPublicKey }))), 'EV_ERR_CUSTODY_SIGNATURE_INVALID');
    assert.equal(await codeOf(verifyStatement(signed, trust, 'revocation')), 'EV_ERR_CUSTODY_STATEMENT_WRONG_TYPE');
    assert.equal(await codeOf(verifyStatement(signed.subarray(0, -1), trust)), 'EV_ERR_CUSTODY_STATEMENT_MALFORMED');
    assert.equal(await codeOf(verifyStatement(Uint8Array.of(1, 2, 3), trust)), 'EV_ERR_CUSTODY_STATEMENT_MALFORMED');
    assert.throws(() => verified({ ok: false, code: 'EV_ERR_CUSTODY_UNKNOWN_SIGNER', message: 'x' }), { code: 'EV_ERR_CUSTODY_UNKNOWN_SIGNER' });
  });

  it('checks a key registration against its own key: a substituted key fails', async () => {
    const reviewer = await member('rev-1');
    const mallory = await member('mallory');
    const reg = { type: 'key-registration' as const, institution: INSTITUTION, timestamp: T0, reviewer: 'rev-1', hpkePublicKey: reviewer.hpkePublicKey, signingPublicKey: reviewer.signingPublicKey };
    const signed = await signStatement(reg, reviewer.signing.privateKey);
    // The server swaps the HPKE key and keeps the reviewer's signature: it no longer verifies.
    const swapped = concat(encodeStatement({ ...reg, hpkePublicKey: mallory.hpkePublicKey }), signed.subarray(-64));
    const result = await verifyStatement(swapped, () => null);
    assert.equal(result.ok ? 'ok' : result.code, 'EV_ERR_CUSTODY_SIGNATURE_INVALID');
    // Signing a registration with a key other than the one it carries is refused outright.
    assert.equal(await rejectionCode(signStatement(reg, mallory.signing.privateKey)), 'EV_ERR_CRYPTO_INVALID_KEY');
    assert.equal(await rejectionCode(signStatement(reg, reviewer.hpke.privateKey)), 'EV_ERR_CRYPTO_INVALID_KEY');
  });

  it('pins the recovery key: an institution statement with another one is refused', async () => {
    const { statement, signer } = samples[0] as { statement: Statement; signer: CryptoKey };
    const signed = await signStatement(statement, signer);
    const result = await verifyStatement(signed, trusting({}, (await member('adm-1')).signingPublicKey));
    assert.equal(result.ok ? 'ok' : result.code, 'EV_ERR_CUSTODY_UNKNOWN_SIGNER');
  });

  it('refuses a statement that carries a public key off the curve', async () => {
    const { statement, signer } = samples[3] as { statement: Statement; signer: CryptoKey };
    const offCurve = new Uint8Array(65);
    offCurve[0] = 4;
    const signed = await signStatement({ ...statement, epochPublicKey: offCurve } as Statement, signer);
    const result = await verifyStatement(signed, trust);
    assert.equal(result.ok ? 'ok' : result.code, 'EV_ERR_CUSTODY_STATEMENT_MALFORMED');
  });
});
