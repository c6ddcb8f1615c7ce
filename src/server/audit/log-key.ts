/**
 * The cell's checkpoint signing key: an ECDSA P-256 key (src/crypto/merkle/log-key.ts) in the file
 * `audit-log-key.json` of the directory given (the cell's `audit/` folder), created on first use,
 * like the region keyring: mode 0600 in a directory created 0700, and refused with
 * `EV_ERR_AUDIT_KEY_PERMISSIONS` when group or others have any access to it.
 *
 * ```json
 * { "format": "examvault-audit-log-key/1", "origin": "examvault/audit/eu/5f0c...",
 *   "verifierKey": "<origin>+<key id>+<base64 key>", "privateKey": "<base64 PKCS #8>",
 *   "createdAt": "<ISO 8601>" }
 * ```
 *
 * The origin (the log's name in every checkpoint) is fixed when the key is made: it is the log's
 * identity, which clients pin together with the key. `verifierKey` is derived from the private key
 * and checked against it on every load, so the file cannot carry a public key that is not its own.
 * There is no rotation yet: a new key is a new log (docs/AUDIT-LOG.md).
 */
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { type LogSigner, exportLogPrivateKey, fromBase64, generateLogKeyPair, importLogSigner, isLogName, signerOf, toBase64 } from '../../crypto/merkle/index.js';
import { isErrno } from '../storage/errors.js';
import { DirSyncer, DurableDirs, TempNames, createFileOnce, readSecretFile } from '../storage/fs-durable.js';
import { AuditError } from './errors.js';

export const LOG_KEY_FILE = 'audit-log-key.json';
const FORMAT = 'examvault-audit-log-key/1';

interface LogKeyFile {
  readonly format: typeof FORMAT;
  readonly origin: string;
  readonly verifierKey: string;
  readonly privateKey: string;
  readonly createdAt: string;
}

export interface LogKeyOptions {
  /** The folder of the key file (created 0700 if missing). */
  readonly dir: string;
  /** The log's name, used only when the key is created. */
  readonly origin: string;
}

function malformed(path: string, why: string): AuditError {
  return new AuditError('EV_ERR_AUDIT_KEY_FILE_MALFORMED', `audit log key ${path} is malformed: ${why}`);
}

async function load(path: string): Promise<LogSigner> {
  const { text } = await readSecretFile(path, {
    notRegular: () => malformed(path, 'not a regular file'),
    exposed: (mode) => new AuditError('EV_ERR_AUDIT_KEY_PERMISSIONS', `audit log key ${path} has mode ${mode}: group or others may access it; it must be 0600 (chmod 600 ${path})`),
  });
  let file: Partial<LogKeyFile>;
  try {
    file = JSON.parse(text) as Partial<LogKeyFile>;
  } catch {
    throw malformed(path, 'not JSON');
  }
  if (!file || typeof file !== 'object' || file.format !== FORMAT) throw malformed(path, `format is not "${FORMAT}"`);
  if (!isLogName(file.origin)) throw malformed(path, 'the origin is not 1-255 characters of [A-Za-z0-9._/:-]');
  const pkcs8 = typeof file.privateKey === 'string' ? fromBase64(file.privateKey) : null;
  if (!pkcs8) throw malformed(path, 'the private key is not base64');
  let signer: LogSigner;
  try {
    signer = await importLogSigner(file.origin, pkcs8);
  } catch {
    throw malformed(path, 'the private key is not a PKCS #8 P-256 key');
  } finally {
    pkcs8.fill(0);
  }
  if (signer.verifierKey !== file.verifierKey) throw malformed(path, 'the verifier key is not the private key\'s');
  return signer;
}

/** First use: write a new key, unless another process creates one first (link fails). */
async function create(dir: string, path: string, origin: string): Promise<void> {
  const { privateKey, publicKey } = await generateLogKeyPair();
  const signer = await signerOf(origin, privateKey, publicKey);
  const pkcs8 = await exportLogPrivateKey(privateKey);
  const file: LogKeyFile = { format: FORMAT, origin, verifierKey: signer.verifierKey, privateKey: toBase64(pkcs8), createdAt: new Date().toISOString() };
  pkcs8.fill(0);
  // The name must be durable before any checkpoint it signs is: createFileOnce fsyncs the directory.
  await createFileOnce(dir, path, new TempNames(`.${LOG_KEY_FILE}.tmp-`), Buffer.from(`${JSON.stringify(file, null, 2)}\n`, 'utf8'));
}

/** Opens the log's signing key in `dir`, creating it (under `origin`) if there is none. */
export async function openLogKey(options: LogKeyOptions): Promise<LogSigner> {
  if (!isLogName(options.origin)) throw new RangeError(`invalid log origin ${JSON.stringify(options.origin)}: use [A-Za-z0-9._/:-], 1-255 characters`);
  const dir = resolve(options.dir);
  const path = join(dir, LOG_KEY_FILE);
  await new DurableDirs(new DirSyncer()).ensure(dir);
  try {
    return await load(path);
  } catch (error) {
    if (!isErrno(error, 'ENOENT')) throw error;
  }
  await create(dir, path, options.origin);
  return load(path);
}

/** The default name of a cell's log: unique per deployment, so two deployments' logs never share one. */
export function defaultOrigin(region: string): string {
  return `examvault/audit/${region}/${randomBytes(8).toString('hex')}`;
}
