/**
 * Wrapping a recording's data key to an institution epoch public key with HPKE (docs/SPEC.md §5.1).
 * The HPKE info holds the epoch and the whole Bound, so a key slot only unwraps for the exact recording
 * and epoch it was made for.
 */
import { bs, concat, u32, utf8 } from './bytes.js';
import { DecryptionFailedError, ExamVaultCryptoError } from './errors.js';
import { ENC_LENGTH, type KeySlot, WRAPPED_DEK_LENGTH } from './header.js';
import { hpke } from './hpke.js';
import { DEK_LENGTH } from './stream-keys.js';

const DEK_LABEL = utf8('examvault/v1/dek');

function wrapInfo(epoch: number, bound: Uint8Array): Uint8Array {
  return concat(DEK_LABEL, u32(epoch), bound);
}

export interface WrapOptions {
  /**
   * A fixed ephemeral key pair, for known-answer vectors only. Never set it when sealing real
   * recordings: reusing an ephemeral key across recordings breaks HPKE's guarantees.
   */
  readonly ephemeralKeyPair?: CryptoKeyPair;
}

export async function wrapDataKey(
  dek: Uint8Array,
  recipient: CryptoKey,
  epoch: number,
  bound: Uint8Array,
  options: WrapOptions = {},
): Promise<KeySlot> {
  if (dek.length !== DEK_LENGTH) throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_KEY', 'a data key is 32 bytes');
  const params = {
    recipientPublicKey: recipient,
    info: bs(wrapInfo(epoch, bound)),
    ...(options.ephemeralKeyPair ? { ekm: options.ephemeralKeyPair } : {}),
  };
  const { ct, enc } = await hpke.seal(params, bs(dek));
  const slot = { epoch, enc: new Uint8Array(enc), wrappedDek: new Uint8Array(ct) };
  if (slot.enc.length !== ENC_LENGTH || slot.wrappedDek.length !== WRAPPED_DEK_LENGTH) {
    throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_KEY', 'unexpected HPKE output size');
  }
  return slot;
}

/** Unwraps a key slot. Any failure, whatever its cause, is the one opaque DecryptionFailedError. */
export async function unwrapDataKey(slot: KeySlot, privateKey: CryptoKey, bound: Uint8Array): Promise<Uint8Array> {
  try {
    const dek = new Uint8Array(
      await hpke.open({ recipientKey: privateKey, enc: bs(slot.enc), info: bs(wrapInfo(slot.epoch, bound)) }, bs(slot.wrappedDek)),
    );
    if (dek.length !== DEK_LENGTH) throw new Error('wrong length');
    return dek;
  } catch {
    throw new DecryptionFailedError();
  }
}
