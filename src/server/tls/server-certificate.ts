/**
 * What the HTTPS listener needs from a certificate, whichever way it was obtained (generated for
 * localhost, or the operator's files), plus what main.ts prints about it.
 */
import { X509Certificate } from 'node:crypto';

export interface ServerCertificate {
  /** PEM: the leaf first, then any intermediates. */
  readonly certPem: string;
  /** PEM private key of the leaf. */
  readonly keyPem: string;
  readonly certPath: string;
  readonly keyPath: string;
  /** SHA-256 of the leaf's DER as colon-separated hex: the form browsers show, to compare by eye. */
  readonly fingerprint256: string;
  readonly notAfter: Date;
}

/** The first certificate of a PEM bundle (the leaf, by convention), or null when there is none. */
export function parseLeaf(certPem: string): X509Certificate | null {
  const first = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(certPem);
  if (!first) return null;
  try {
    return new X509Certificate(first[0]);
  } catch {
    return null;
  }
}

export function validity(cert: X509Certificate): { notBefore: Date; notAfter: Date } {
  return { notBefore: new Date(cert.validFrom), notAfter: new Date(cert.validTo) };
}
