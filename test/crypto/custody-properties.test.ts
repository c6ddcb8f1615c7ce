/**
 * Property tests (fast-check) of key custody: whatever is changed in a signed statement, a grant or a
 * wrapped key, it must fail to verify or to open; honest round trips must succeed. The properties
 * together run more than 5,000 cases, counted below.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type EpochGrant,
  type GrantRecipient,
  type PassphraseKey,
  type SignerKeyResolver,
  type Statement,
  type WrappedPrivateKey,
  createGrant,
  decodeStatement,
  derivePassphraseKey,
  encodeStatement,
  exportPublicKey,
  formatRecoveryKey,
  fromBase64Url,
  isCryptoError,
  openGrant,
  parseRecoveryKey,
  safetyNumber,
  signStatement,
  toBase64Url,
  unwrapPrivateKey,
  verifyStatement,
  wrapPrivateKey,
} from '../../src/crypto/index.js';
import { INSTITUTION, epochKeys, flipBit, member, sampleStatements, sampleTrust, withField } from './custody-fixtures.js';

const MIN_TOTAL_CASES = 5_000;
let cases = 0;

/** True when `p` rejects with an ExamVault crypto error: a tampered input must never open. */
async function refused(p: Promise<unknown>): Promise<boolean> {
  cases++;
  try {
    await p;
    return false;
  } catch (e) {
    return isCryptoError(e);
  }
}

const idArb = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/);
const pointArb = fc.uint8Array({ minLength: 64, maxLength: 64 }).map((b) => Uint8Array.of(4, ...b));
const timestampArb = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const epochArb = fc.integer({ min: 1, max: 0xffffffff });

/** Records with ordinary prototypes, so that they compare equal to decoded statements. */
const record = <T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }) => fc.record(model, { noNullPrototype: true });

const statementArb: fc.Arbitrary<Statement> = fc.oneof(
  record({ type: fc.constant('institution' as const), institution: idArb, timestamp: timestampArb, hpkePublicKey: pointArb, signingPublicKey: pointArb }),
  record({
    type: fc.constant('admin-enrolment' as const), institution: idArb, timestamp: timestampArb, admin: idArb, hpkePublicKey: pointArb, signingPublicKey: pointArb,
    enrolledBy: fc.oneof(fc.constant({ kind: 'recovery' as const }), record({ kind: fc.constant('admin' as const), admin: idArb })),
  }).filter((s) => s.enrolledBy.kind === 'recovery' || s.enrolledBy.admin !== s.admin),
  record({ type: fc.constant('epoch' as const), institution: idArb, timestamp: timestampArb, admin: idArb, epoch: epochArb, epochPublicKey: pointArb }),
  record({ type: fc.constant('key-registration' as const), institution: idArb, timestamp: timestampArb, reviewer: idArb, hpkePublicKey: pointArb, signingPublicKey: pointArb }),
  record({ type: fc.constant('approval' as const), institution: idArb, timestamp: timestampArb, admin: idArb, reviewer: idArb, epoch: epochArb, fingerprint: fc.uint8Array({ minLength: 32, maxLength: 32 }) }),
  record({ type: fc.constant('revocation' as const), institution: idArb, timestamp: timestampArb, admin: idArb, reviewer: idArb, epoch: fc.integer({ min: 2, max: 0xffffffff }), epochPublicKey: pointArb }),
);

describe('statement properties', () => {
  let signed: Uint8Array[];
  let trust: SignerKeyResolver;
  before(async () => {
    signed = await Promise.all((await sampleStatements()).map(({ statement, signer }) => signStatement(statement, signer)));
    trust = await sampleTrust();
  });

  it('every statement decodes to itself and re-encodes to the same bytes', () => {
    fc.assert(
      fc.property(statementArb, (s) => {
        cases++;
        const bytes = encodeStatement(s);
        const back = decodeStatement(bytes);
        assert.deepEqual(back, s);
        return encodeStatement(back).every((b, i) => b === bytes[i]);
      }),
      { numRuns: 1000 },
    );
  });

  it('a flip of any bit of any signed statement fails verification', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 6 }).chain((i) => fc.record({ i: fc.constant(i), bit: fc.nat({ max: (signed[i] as Uint8Array).length * 8 - 1 }) })), async ({ i, bit }) => {
        cases++;
        const result = await verifyStatement(flipBit(signed[i] as Uint8Array, bit), trust);
        return !result.ok;
      }),
      { numRuns: 2500 },
    );
  });

  it('truncation, extension or splicing of signed statements fails verification', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 6 }), fc.nat({ max: 6 }), fc.nat(), fc.uint8Array({ maxLength: 8 }), async (i, j, cut, extra) => {
        cases++;
        const a = signed[i] as Uint8Array;
        const b = signed[j] as Uint8Array;
        const at = cut % a.length;
        // a's statement with b's signature, a cut short, or a with bytes appended
        const variants = [Uint8Array.of(...a.subarray(0, a.length - 64), ...b.subarray(b.length - 64)), a.subarray(0, at), Uint8Array.of(...a, ...extra)];
        const results = await Promise.all(variants.map((v) => verifyStatement(v, trust)));
        return results.every((r, k) => !r.ok || (k === 0 && i === j) || (k === 2 && extra.length === 0));
      }),
      { numRuns: 300 },
    );
  });

  it('decoding arbitrary bytes either succeeds canonically or fails with a statement code', () => {
    const header = fc.constantFrom(...[1, 2, 3, 4, 5, 6].map((t) => Uint8Array.of(0x45, 0x56, 0x53, 0x54, 0x4d, 0x54, 1, t)));
    fc.assert(
      fc.property(header, fc.uint8Array({ maxLength: 300 }), (h, body) => {
        cases++;
        const bytes = Uint8Array.of(...h, body.length >> 8, body.length & 0xff, ...body);
        try {
          return encodeStatement(decodeStatement(bytes)).length === bytes.length;
        } catch (e) {
          return isCryptoError(e) && e.code.startsWith('EV_ERR_CUSTODY_STATEMENT_');
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('grant properties', () => {
  let grant: EpochGrant;
  let recipient: GrantRecipient;
  let hpkePrivateKey: CryptoKey;
  let epochPublicKey: Uint8Array;
  const scope = { institution: INSTITUTION, epoch: 1 };
  before(async () => {
    const keys = await member('rev-a');
    recipient = { kind: 'member', member: 'rev-a', keys };
    hpkePrivateKey = keys.hpke.privateKey;
    epochPublicKey = await exportPublicKey((await epochKeys(1)).publicKey);
    grant = await createGrant((await epochKeys(1)).privateKey, scope, recipient);
  });

  it('a flip of any bit of the encapsulated key or ciphertext fails to open', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('enc' as const, 'ciphertext' as const), fc.nat({ max: 48 * 8 - 1 }), async (field, bit) => {
        const bytes = fromBase64Url(grant[field]) as Uint8Array;
        const tampered = withField(grant, [field], toBase64Url(flipBit(bytes, bit % (bytes.length * 8))));
        return refused(openGrant(tampered, { ...scope, epochPublicKey }, recipient, hpkePrivateKey));
      }),
      { numRuns: 400 },
    );
  });

  it('a grant relabelled for any other member, institution or epoch fails to open for it', async () => {
    const change = fc.oneof(
      fc.record({ member: idArb.filter((m) => m !== 'rev-a') }),
      fc.record({ institution: idArb.filter((x) => x !== INSTITUTION) }),
      fc.record({ epoch: fc.integer({ min: 2, max: 0xffffffff }) }),
    );
    await fc.assert(
      fc.asyncProperty(change, async (c) => {
        const [field, value] = Object.entries(c)[0] as [string, unknown];
        const byMember = field === 'member';
        const g = withField(grant, byMember ? ['recipient', 'member'] : [field], value);
        const s = byMember ? { ...scope, epochPublicKey } : { ...scope, epochPublicKey, ...c };
        const r = byMember ? ({ ...recipient, member: value } as GrantRecipient) : recipient;
        return refused(openGrant(g, s, r, hpkePrivateKey));
      }),
      { numRuns: 200 },
    );
  });
});

describe('wrapped key properties', () => {
  let wrapped: WrappedPrivateKey;
  let pk: PassphraseKey;
  const binding = { purpose: 'admin-signing' as const, institution: INSTITUTION, owner: 'adm-1' };
  const prf = { credentialId: Uint8Array.of(1, 2, 3, 4), prfInput: new Uint8Array(32).fill(8), output: new Uint8Array(32).fill(9) };
  const bytePaths: string[][] = [
    ['publicKey'],
    ['wrappings', '0', 'kdf', 'salt'],
    ['wrappings', '0', 'iv'],
    ['wrappings', '0', 'ciphertext'],
    ['wrappings', '1', 'credentialId'],
    ['wrappings', '1', 'prfInput'],
    ['wrappings', '1', 'kdf', 'salt'],
    ['wrappings', '1', 'iv'],
    ['wrappings', '1', 'ciphertext'],
  ];
  before(async () => {
    pk = await derivePassphraseKey('passphrase for properties');
    wrapped = await wrapPrivateKey((await member('adm-1')).signing.privateKey, binding, [{ passphraseKey: pk }, { prf }]);
  });

  function read(doc: unknown, path: string[]): Uint8Array {
    let at = doc as Record<string, unknown>;
    for (const k of path) at = at[k] as Record<string, unknown>;
    return fromBase64Url(at as unknown as string) as Uint8Array;
  }

  it('a flip of any bit of any byte field fails to unwrap, by passphrase or by passkey', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...bytePaths), fc.nat({ max: 65 * 8 - 1 }), fc.boolean(), async (path, bit, byPrf) => {
        const bytes = read(wrapped, path);
        const tampered = withField(wrapped, path, toBase64Url(flipBit(bytes, bit % (bytes.length * 8))));
        const unlock = byPrf ? { prf: { credentialId: prf.credentialId, output: prf.output } } : { passphraseKey: pk };
        const result = unwrapPrivateKey(tampered, binding, unlock);
        // A flip in the other wrapping leaves this one intact: it must still open, and to the same key.
        const other = path[1] === (byPrf ? '0' : '1');
        if (!other) return refused(result);
        cases++;
        return (await result).publicKey.every((b, i) => b === read(wrapped, ['publicKey'])[i]);
      }),
      { numRuns: 1200 },
    );
  });

  it('a document relabelled to any other owner, institution or purpose fails to unwrap as that', async () => {
    const change = fc.oneof(
      fc.record({ owner: idArb.filter((x) => x !== 'adm-1') }),
      fc.record({ institution: idArb.filter((x) => x !== INSTITUTION) }),
      fc.record({ purpose: fc.constantFrom('reviewer-signing' as const) }),
    );
    await fc.assert(
      fc.asyncProperty(change, fc.boolean(), async (c, byPrf) => {
        const [key, value] = Object.entries(c)[0] as [string, string];
        const unlock = byPrf ? { prf: { credentialId: prf.credentialId, output: prf.output } } : { passphraseKey: pk };
        return refused(unwrapPrivateKey(withField(wrapped, [key], value), { ...binding, ...c }, unlock));
      }),
      { numRuns: 300 },
    );
  });
});

describe('recovery key and safety number properties', () => {
  it('any secret round-trips through its text, and any one-character typo is caught', async () => {
    const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.nat({ max: 55 }), fc.nat({ max: 30 }), async (secret, at, shift) => {
        cases++;
        const text = (await formatRecoveryKey(secret)).replace(/-/g, '');
        if (!(await parseRecoveryKey(text)).every((b, i) => b === secret[i])) return false;
        const c = ALPHABET[(ALPHABET.indexOf(text[at] as string) + 1 + shift) % 32] as string;
        return refused(parseRecoveryKey(text.slice(0, at) + c + text.slice(at + 1)));
      }),
      // A fixed seed: with a 24-bit checksum a random typo goes undetected with probability 2^-24,
      // and a test must not flake on that.
      { numRuns: 300, seed: 4242 },
    );
  });

  it('a flip of any bit of either public key changes the safety number', async () => {
    const keys = await member('rev-1');
    const input = { institution: INSTITUTION, member: 'rev-1', keys: { hpkePublicKey: keys.hpkePublicKey, signingPublicKey: keys.signingPublicKey } };
    const n = await safetyNumber(input);
    await fc.assert(
      // Bits of X and Y (byte 0 is the 0x04 form marker, which must stay: anything else is refused).
      fc.asyncProperty(fc.boolean(), fc.integer({ min: 8, max: 65 * 8 - 1 }), async (hpke, bit) => {
        cases++;
        const k = hpke ? { ...input.keys, hpkePublicKey: flipBit(keys.hpkePublicKey, bit) } : { ...input.keys, signingPublicKey: flipBit(keys.signingPublicKey, bit) };
        return (await safetyNumber({ ...input, keys: k })) !== n;
      }),
      { numRuns: 15 },
    );
  });
});

describe('coverage of the custody properties', () => {
  it(`ran at least ${MIN_TOTAL_CASES} cases`, (t) => {
    t.diagnostic(`${cases} property cases`);
    assert.ok(cases >= MIN_TOTAL_CASES, `only ${cases} property cases ran`);
  });
});
