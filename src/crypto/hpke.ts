/**
 * The one HPKE suite of format v1 (docs/SPEC.md §3): DHKEM(P-256, HKDF-SHA256), HKDF-SHA256,
 * AES-256-GCM, base mode. Built on @hpke/core, which composes WebCrypto and runs in browsers and Node.
 */
import { Aes256Gcm, CipherSuite, DhkemP256HkdfSha256, HkdfSha256 } from '@hpke/core';

export const hpke = new CipherSuite({
  kem: new DhkemP256HkdfSha256(),
  kdf: new HkdfSha256(),
  aead: new Aes256Gcm(),
});
