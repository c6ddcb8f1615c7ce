/**
 * An admin revoking a reviewer (docs/KEY-CUSTODY.md §7.5; docs/CUSTODY-SERVER.md
 * `POST /v1/custody/revocations`), on the admin's own device: `examvault custody revoke` and the admin
 * console both make the body here. A revocation starts a new epoch whose key pair the caller has just
 * generated; the statement names it, and its private key is granted to the institution's recovery key
 * at once, so the recovery key never misses an epoch.
 */
import { exportPublicKey } from '../epoch-key.js';
import { type EpochGrant, createGrant } from './grant.js';
import type { MemberPublicKeys } from './member-keys.js';
import { signStatement } from './statement-signature.js';

export interface RevocationInput {
  readonly institution: string;
  readonly admin: string;
  readonly adminSigningKey: CryptoKey;
  readonly reviewer: string;
  /** The new epoch: the current one plus 1. */
  readonly epoch: number;
  /** The new epoch's key pair, freshly generated (the private key extractable). */
  readonly newEpochKeys: CryptoKeyPair;
  /** The recovery key's two public keys, from an institution statement the caller verified and pinned. */
  readonly recovery: MemberPublicKeys;
  readonly timestamp?: number;
}

export interface Revocation {
  /** The signed revocation statement (statement ‖ signature). */
  readonly revocation: Uint8Array;
  readonly recoveryGrant: EpochGrant;
}

export async function createRevocation(input: RevocationInput): Promise<Revocation> {
  const { institution, epoch } = input;
  return {
    revocation: await signStatement({
      type: 'revocation',
      institution,
      timestamp: input.timestamp ?? Date.now(),
      admin: input.admin,
      reviewer: input.reviewer,
      epoch,
      epochPublicKey: await exportPublicKey(input.newEpochKeys.publicKey),
    }, input.adminSigningKey),
    recoveryGrant: await createGrant(input.newEpochKeys.privateKey, { institution, epoch }, { kind: 'recovery', keys: input.recovery }),
  };
}
