/**
 * Signing and verifying custody statements (docs/KEY-CUSTODY.md §7.4).
 *
 * A signed statement is the statement's bytes followed by a 64-byte ECDSA P-256 / SHA-256 signature in
 * IEEE P1363 form (`r ‖ s`, what WebCrypto produces), over the domain-separated message
 * `str8("examvault/v1/statement/<type>") ‖ statement`.
 *
 * Verification returns a typed result instead of throwing: a client replaying the log switches on the
 * code of each entry. Which key may sign is the caller's decision (its view of the log), asked through
 * a resolver; only a key registration is checked against the key it carries itself.
 */
import { bs, concat, constantTimeEqual, str8, toHex } from '../bytes.js';
import { importPublicKey } from '../epoch-key.js';
import { type CryptoErrorCode, ExamVaultCryptoError, isCryptoError } from '../errors.js';
import {
  type Signer,
  type Statement,
  type StatementOf,
  type StatementType,
  decodeStatement,
  encodeStatement,
  signerOf,
  statementLength,
} from './statement.js';
import { SIGNATURE_LENGTH, importSigningPublicKey, sign, verifySignature } from './signing-key.js';

export type StatementFailureCode = Extract<
  CryptoErrorCode,
  | 'EV_ERR_CUSTODY_STATEMENT_MALFORMED'
  | 'EV_ERR_CUSTODY_STATEMENT_UNSUPPORTED'
  | 'EV_ERR_CUSTODY_STATEMENT_WRONG_TYPE'
  | 'EV_ERR_CUSTODY_SIGNATURE_INVALID'
  | 'EV_ERR_CUSTODY_UNKNOWN_SIGNER'
>;

export type StatementVerification<S extends Statement = Statement> =
  | {
    readonly ok: true;
    readonly statement: S;
    readonly signer: Signer;
    /** The statement's bytes without the signature. */
    readonly bytes: Uint8Array;
    /** Lowercase hex SHA-256 of `bytes`: the statement's identity in the log (see statementId). */
    readonly id: string;
  }
  | { readonly ok: false; readonly code: StatementFailureCode; readonly message: string };

/**
 * The signing public key (65 bytes) the caller trusts for `signer`, or null when it trusts none. Not
 * asked for key registrations, which are self-signed. For an `institution` statement the resolver is
 * asked for the recovery key the client has pinned; a client meeting an institution for the first
 * time (trust on first use) may answer with the statement's own `signingPublicKey`.
 */
export type SignerKeyResolver = (signer: Signer, statement: Statement) => Uint8Array | null | undefined | Promise<Uint8Array | null | undefined>;

const LABEL_PREFIX = 'examvault/v1/statement/';

function toBeSigned(type: StatementType, statement: Uint8Array): Uint8Array {
  return concat(str8(LABEL_PREFIX + type), statement);
}

/** The statement's identity in the log: SHA-256 of its bytes, signature excluded (ECDSA signatures are malleable). */
export async function statementId(statement: Uint8Array): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bs(statement))));
}

/** Signs a statement. For self-signed types the key must be the one the statement carries. */
export async function signStatement(statement: Statement, signingPrivateKey: CryptoKey): Promise<Uint8Array> {
  if (signingPrivateKey.algorithm.name !== 'ECDSA' || signingPrivateKey.type !== 'private') {
    throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_KEY', 'statements are signed with an ECDSA P-256 private key');
  }
  const bytes = encodeStatement(statement);
  const signature = await sign(signingPrivateKey, toBeSigned(statement.type, bytes));
  if (statement.type === 'key-registration' || statement.type === 'institution') {
    const own = await importSigningPublicKey(statement.signingPublicKey);
    if (!(await verifySignature(own, signature, toBeSigned(statement.type, bytes)))) {
      throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_KEY', `a ${statement.type} statement is signed by the key it carries`);
    }
  }
  return concat(bytes, signature);
}

function failure(code: StatementFailureCode, message: string): StatementVerification<never> {
  return { ok: false, code, message };
}

function publicKeysOf(s: Statement): { hpke: Uint8Array[]; signing: Uint8Array[] } {
  switch (s.type) {
    case 'institution':
    case 'admin-enrolment':
    case 'key-registration':
      return { hpke: [s.hpkePublicKey], signing: [s.signingPublicKey] };
    case 'epoch':
    case 'revocation':
      return { hpke: [s.epochPublicKey], signing: [] };
    case 'approval':
      return { hpke: [], signing: [] };
  }
}

/**
 * Verifies a signed statement: framing, canonical form, the public keys it carries (valid points),
 * the signer allowed for its type, and the signature. With `expectedType`, a statement of another
 * type fails with EV_ERR_CUSTODY_STATEMENT_WRONG_TYPE.
 */
export async function verifyStatement<T extends StatementType = StatementType>(
  signed: Uint8Array,
  signerKey: SignerKeyResolver,
  expectedType?: T,
): Promise<StatementVerification<StatementOf<T>>> {
  let statement: Statement;
  let bytes: Uint8Array;
  try {
    const length = statementLength(signed);
    if (signed.length !== length + SIGNATURE_LENGTH) {
      return failure('EV_ERR_CUSTODY_STATEMENT_MALFORMED', `a signed statement is the statement and a ${SIGNATURE_LENGTH}-byte signature`);
    }
    bytes = signed.slice(0, length);
    statement = decodeStatement(bytes);
  } catch (e) {
    if (isCryptoError(e) && (e.code === 'EV_ERR_CUSTODY_STATEMENT_MALFORMED' || e.code === 'EV_ERR_CUSTODY_STATEMENT_UNSUPPORTED')) return failure(e.code, e.message);
    throw e;
  }
  if (expectedType !== undefined && statement.type !== expectedType) {
    return failure('EV_ERR_CUSTODY_STATEMENT_WRONG_TYPE', `expected a ${expectedType} statement, got ${statement.type}`);
  }
  const keys = publicKeysOf(statement);
  try {
    for (const k of keys.hpke) await importPublicKey(k);
    for (const k of keys.signing) await importSigningPublicKey(k);
  } catch {
    return failure('EV_ERR_CUSTODY_STATEMENT_MALFORMED', 'malformed statement: a public key is not a valid P-256 point');
  }
  const signer = signerOf(statement);
  let key: Uint8Array | null | undefined;
  if (signer.kind === 'subject' && statement.type === 'key-registration') {
    key = statement.signingPublicKey;
  } else {
    key = await signerKey(signer, statement);
    if (statement.type === 'institution' && key && !constantTimeEqual(key, statement.signingPublicKey)) {
      return failure('EV_ERR_CUSTODY_UNKNOWN_SIGNER', 'the institution statement carries another recovery key than the one trusted');
    }
  }
  if (!key) return failure('EV_ERR_CUSTODY_UNKNOWN_SIGNER', `no trusted key for signer ${signer.kind === 'admin' ? `admin ${signer.admin}` : signer.kind}`);
  let publicKey: CryptoKey;
  try {
    publicKey = await importSigningPublicKey(key);
  } catch {
    return failure('EV_ERR_CUSTODY_UNKNOWN_SIGNER', 'the trusted key for this signer is not a valid P-256 public key');
  }
  const signature = signed.subarray(bytes.length);
  if (!(await verifySignature(publicKey, signature, toBeSigned(statement.type, bytes)))) {
    return failure('EV_ERR_CUSTODY_SIGNATURE_INVALID', `the signature of this ${statement.type} statement does not verify`);
  }
  return { ok: true, statement: statement as StatementOf<T>, signer, bytes, id: await statementId(bytes) };
}

/** The statement of a successful verification; throws the failure's code otherwise. */
export function verified<S extends Statement>(result: StatementVerification<S>): S {
  if (!result.ok) throw new ExamVaultCryptoError(result.code, result.message);
  return result.statement;
}
