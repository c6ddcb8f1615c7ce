/**
 * The certificate `npm start` serves out of the box (DESIGN "Transport"): ECDSA P-256, self-signed,
 * for `localhost`, `127.0.0.1` and `::1`, valid one year, kept in `<dataDir>/tls/`. Created on first
 * start and reused afterwards, so the fingerprint a developer trusted stays the same; replaced when
 * it is missing, unreadable, does not match its key, is about to expire, or its key file could be
 * read by other users (a key others could read must be treated as exposed).
 *
 * Generated with @peculiar/x509 over WebCrypto; checked with Node's X509Certificate.
 */
// @peculiar/x509 resolves its ASN.1 codecs through tsyringe, which needs the Reflect metadata API
// loaded before it (https://github.com/PeculiarVentures/x509#usage).
import 'reflect-metadata';
import { X509Certificate as NodeX509, createPrivateKey, webcrypto } from 'node:crypto';
import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { type ServerCertificate, parseLeaf, validity } from './server-certificate.js';

export const LOCAL_CERT_FILE = 'localhost.crt';
export const LOCAL_KEY_FILE = 'localhost.key';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Under 398 days: the longest validity browsers accept for a server certificate. */
const VALIDITY_DAYS = 365;
/** Replaced when it would expire within this margin, so a running server is not caught out. */
const RENEW_MARGIN_MS = 7 * DAY_MS;

export interface LocalCertificate extends ServerCertificate {
  /** True when this call wrote a new certificate. */
  readonly created: boolean;
  /** Why a new certificate was written (absent when the existing one was reused). */
  readonly reason?: 'missing' | 'unreadable' | 'key mismatch' | 'expired' | 'wrong names' | 'key readable by others';
}

export interface LocalCertificateOptions {
  /** The clock; tests move it to produce expired certificates. */
  readonly now?: Date;
}

/**
 * Returns the localhost certificate under `<dataDir>/tls/`, creating or replacing it when needed.
 *
 * @example
 * const cert = await ensureLocalCertificate(config.dataDir);
 * console.log(cert.fingerprint256);
 */
export async function ensureLocalCertificate(dataDir: string, options: LocalCertificateOptions = {}): Promise<LocalCertificate> {
  const now = options.now ?? new Date();
  const dir = join(dataDir, 'tls');
  const certPath = join(dir, LOCAL_CERT_FILE);
  const keyPath = join(dir, LOCAL_KEY_FILE);

  const existing = await inspectExisting(certPath, keyPath, now);
  if (existing.ok) return { ...existing.cert, created: false };

  await mkdir(dir, { recursive: true, mode: 0o700 });
  const { certPem, keyPem } = await generate(now);
  // The key first: a crash between the two renames leaves a mismatched pair, which the next start
  // detects and replaces.
  await writeAtomic(keyPath, keyPem, 0o600);
  await writeAtomic(certPath, certPem, 0o644);
  const leaf = parseLeaf(certPem) as NodeX509;
  return { certPem, keyPem, certPath, keyPath, fingerprint256: leaf.fingerprint256, notAfter: validity(leaf).notAfter, created: true, reason: existing.reason };
}

type Inspection = { ok: true; cert: ServerCertificate } | { ok: false; reason: NonNullable<LocalCertificate['reason']> };

async function inspectExisting(certPath: string, keyPath: string, now: Date): Promise<Inspection> {
  let certPem: string;
  let keyPem: string;
  try {
    [certPem, keyPem] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
  } catch (err) {
    return { ok: false, reason: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unreadable' };
  }
  const leaf = parseLeaf(certPem);
  if (!leaf) return { ok: false, reason: 'unreadable' };
  let matches: boolean;
  try {
    matches = leaf.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return { ok: false, reason: 'unreadable' };
  }
  if (!matches) return { ok: false, reason: 'key mismatch' };
  const { notBefore, notAfter } = validity(leaf);
  if (notAfter.getTime() - now.getTime() < RENEW_MARGIN_MS || notBefore.getTime() > now.getTime() + DAY_MS) return { ok: false, reason: 'expired' };
  if (!leaf.checkHost('localhost') || !leaf.checkIP('127.0.0.1') || !leaf.checkIP('::1')) return { ok: false, reason: 'wrong names' };
  // POSIX permissions only; on Windows the mode bits say nothing about who can read the file.
  if (process.platform !== 'win32' && ((await stat(keyPath)).mode & 0o077) !== 0) return { ok: false, reason: 'key readable by others' };
  return { ok: true, cert: { certPem, keyPem, certPath, keyPath, fingerprint256: leaf.fingerprint256, notAfter } };
}

async function generate(now: Date): Promise<{ certPem: string; keyPem: string }> {
  const crypto = webcrypto as unknown as Crypto;
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await crypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  // RFC 5280 §4.1.2.2: a positive serial of at most 20 octets; 16 random bytes with the top bit clear.
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] = ((serial[0] as number) & 0x7f) | 0x01;
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: Buffer.from(serial).toString('hex'),
      name: 'CN=localhost',
      // A few minutes back, so a client whose clock is slightly behind still accepts it.
      notBefore: new Date(now.getTime() - 5 * 60 * 1000),
      notAfter: new Date(now.getTime() + VALIDITY_DAYS * DAY_MS),
      signingAlgorithm: algorithm,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([
          { type: 'dns', value: 'localhost' },
          { type: 'ip', value: '127.0.0.1' },
          { type: 'ip', value: '::1' },
        ]),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { certPem: `${cert.toString('pem')}\n`, keyPem: `${x509.PemConverter.encode(pkcs8, 'PRIVATE KEY')}\n` };
}

async function writeAtomic(path: string, text: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode, flag: 'w' });
  // writeFile's mode is masked by the umask and ignored for an existing file: set it explicitly.
  await chmod(tmp, mode);
  await rename(tmp, path);
}
