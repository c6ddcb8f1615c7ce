/**
 * The shape of test/vectors/custody-v1.json (docs/KEY-CUSTODY.md §11) and the conversions between
 * statements and their JSON form (byte fields as lowercase hex). Shared by the vector test and by
 * scripts/generate-custody-vectors.ts, which wrote the file once.
 */
import {
  type CryptoErrorCode,
  type EpochGrant,
  type KeyBinding,
  type SignerKeyResolver,
  type Statement,
  type WrappedPrivateKey,
  fromHex,
  toHex,
} from '../../src/crypto/index.js';
import { trusting } from './custody-fixtures.js';

export type StatementJson = Record<string, string | number | { kind: string; admin?: string }>;

const byteFields = ['hpkePublicKey', 'signingPublicKey', 'epochPublicKey', 'fingerprint'];

export function statementToJson(s: Statement): StatementJson {
  return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v instanceof Uint8Array ? toHex(v) : v])) as StatementJson;
}

export function statementFromJson(j: StatementJson): Statement {
  return Object.fromEntries(Object.entries(j).map(([k, v]) => [k, byteFields.includes(k) ? fromHex(v as string) : v])) as unknown as Statement;
}

export interface TrustJson {
  readonly admins: Record<string, string>;
  readonly recovery: string;
}

export function resolverOf(t: TrustJson): SignerKeyResolver {
  return trusting(Object.fromEntries(Object.entries(t.admins).map(([k, v]) => [k, fromHex(v)])), fromHex(t.recovery));
}

export interface CustodyVectors {
  readonly description: string;
  readonly memberFingerprints: readonly { hpkePublicKey: string; signingPublicKey: string; fingerprint: string }[];
  readonly safetyNumbers: readonly { institution: string; member: string; hpkePublicKey: string; signingPublicKey: string; safetyNumber: string }[];
  /** The signer keys the statement vectors are verified against. */
  readonly trust: TrustJson;
  readonly statements: readonly { name: string; statement: StatementJson; encoded: string; toBeSigned: string; signed: string }[];
  readonly invalidStatements: readonly { name: string; signed: string; error: CryptoErrorCode }[];
  readonly recoveryKeys: readonly { secret: string; text: string; hpkePublicKey: string; signingPublicKey: string }[];
  readonly invalidRecoveryKeys: readonly { text: string; error: CryptoErrorCode }[];
  readonly grants: readonly {
    name: string;
    epochPrivateKey: string;
    institution: string;
    epoch: number;
    recipient: { kind: 'member'; member: string } | { kind: 'recovery' };
    recipientPrivateKey: string;
    recipientHpkePublicKey: string;
    recipientSigningPublicKey: string;
    ephemeralSeed: string;
    info: string;
    grant: EpochGrant;
  }[];
  readonly wrappedKeys: readonly {
    name: string;
    binding: KeyBinding;
    unlock: { passphrase: string } | { prf: { credentialId: string; output: string } };
    /** The private scalar, hex. */
    privateKey: string;
    wrapped: WrappedPrivateKey;
  }[];
}
