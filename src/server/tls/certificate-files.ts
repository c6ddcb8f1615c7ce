/**
 * TLS mode `files`: the operator's PEM certificate chain and private key (e.g. from an ACME client).
 * Read once at start and checked before anything listens, so a wrong path, a key that does not
 * belong to the certificate or an expired certificate stops the start with an `error:` / `hint:`
 * instead of failing every handshake later.
 */
import { createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../config.js';
import { type ServerCertificate, parseLeaf, validity } from './server-certificate.js';

export async function loadCertificateFiles(certPath: string, keyPath: string, now: Date = new Date()): Promise<ServerCertificate> {
  const certPem = await readPem(certPath, 'certificate');
  const keyPem = await readPem(keyPath, 'private key');

  const leaf = parseLeaf(certPem);
  if (!leaf) {
    throw new ConfigError('EV_ERR_CONFIG_TLS_INVALID', `${certPath} holds no PEM certificate`, 'EXAMVAULT_TLS_CERT must name a PEM file starting with -----BEGIN CERTIFICATE----- (the full chain, leaf first)');
  }
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    throw new ConfigError('EV_ERR_CONFIG_TLS_INVALID', `${keyPath} holds no usable PEM private key (or it is encrypted)`, 'EXAMVAULT_TLS_KEY must name an unencrypted PEM private key (-----BEGIN PRIVATE KEY----- or -----BEGIN EC/RSA PRIVATE KEY-----)');
  }
  if (!leaf.checkPrivateKey(key)) {
    throw new ConfigError('EV_ERR_CONFIG_TLS_INVALID', `the private key ${keyPath} does not belong to the certificate ${certPath}`, 'point EXAMVAULT_TLS_KEY at the key the certificate was issued for; the first certificate in the chain file must be the server\'s own');
  }
  const { notBefore, notAfter } = validity(leaf);
  if (notAfter <= now || notBefore > now) {
    throw new ConfigError('EV_ERR_CONFIG_TLS_INVALID', `the certificate ${certPath} is valid only from ${notBefore.toISOString()} to ${notAfter.toISOString()}`, 'renew the certificate (and check the machine\'s clock)');
  }
  return { certPem, keyPem, certPath, keyPath, fingerprint256: leaf.fingerprint256, notAfter };
}

async function readPem(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError('EV_ERR_CONFIG_TLS_UNREADABLE', `cannot read the TLS ${what} ${path}: ${code}`, code === 'EACCES'
      ? 'let the user running ExamVault read the file (the key should stay 0600, owned by that user)'
      : 'check EXAMVAULT_TLS_CERT / EXAMVAULT_TLS_KEY (or "tls.certPath" / "tls.keyPath"); relative paths in the file are resolved against its directory');
  }
}
