/**
 * The TLS settings of the HTTPS listener (DESIGN "Transport"): TLS 1.2 and 1.3 only, forward-secret
 * (ECDHE) AEAD suites only, FIPS-approved algorithms only. test/server/tls/tls.test.ts scans a live
 * server with sslscan and testssl.sh and fails if anything else is offered.
 */
import { constants } from 'node:crypto';
import type { ServerOptions } from 'node:https';
import type { ServerCertificate } from './server-certificate.js';

/** TLS 1.3 suites: (EC)DHE is built into TLS 1.3, so all of them are forward-secret. */
export const tls13Suites = Object.freeze(['TLS_AES_256_GCM_SHA384', 'TLS_AES_128_GCM_SHA256']);

/**
 * TLS 1.2 suites: ECDHE key exchange (forward secrecy) with AES-GCM (AEAD). No CBC (padding-oracle
 * history), no static RSA or DHE key exchange, no CHACHA20-POLY1305 (sound, but not FIPS-approved).
 * The RSA variants are used only when the operator's certificate is RSA.
 */
export const tls12Suites = Object.freeze([
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
]);

/** Both lists: Node hands the TLS 1.3 names to SSL_CTX_set_ciphersuites and the rest to set_cipher_list. */
export const cipherList = [...tls13Suites, ...tls12Suites].join(':');

/** NIST curves only (X25519 is not FIPS-approved for key agreement in SP 800-56A). */
export const ecdhCurves = 'P-256:P-384';

export function tlsOptions(cert: Pick<ServerCertificate, 'certPem' | 'keyPem'>): ServerOptions {
  return {
    cert: cert.certPem,
    key: cert.keyPem,
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.3',
    ciphers: cipherList,
    honorCipherOrder: true,
    ecdhCurve: ecdhCurves,
    secureOptions:
      // TLS 1.2 renegotiation: a client-triggered CPU cost and a history of splicing attacks; nothing needs it.
      constants.SSL_OP_NO_RENEGOTIATION |
      // TLS 1.2 session tickets are encrypted under one key for the whole process lifetime: whoever
      // obtains it can decrypt every recorded session that resumed, which defeats forward secrecy.
      // (TLS 1.3 resumption still uses a fresh (EC)DHE exchange under OpenSSL's default psk_dhe_ke.)
      constants.SSL_OP_NO_TICKET,
  };
}
