/**
 * Each cell's passcode key: 32 random bytes in `<cell>/passcodes/passcode-key.json`, created on first
 * use, mode 0600 in a 0700 folder (the keyring's and the audit log key's rule), and refused with
 * `EV_ERR_PASSCODE_KEY_PERMISSIONS` when group or others have any access to it.
 *
 * It keys three things, under separate labels:
 * - the hash a passcode is stored as, HMAC-SHA256(key, label || passcode): a stolen database alone
 *   cannot be searched for passcodes (85 random bits already defeat brute force; the key also stops
 *   a thief from confirming a passcode seen elsewhere), and the key file lives apart from the database;
 * - each platform's webhook secret, HMAC-SHA256(key, label || platform id): derived, so no webhook
 *   secret is stored anywhere;
 * - the name under which a guessing lockout is kept (lockout-store.ts), HMAC-SHA256(key, label ||
 *   budget): a lockout of a client address is kept without the address.
 *
 * ```json
 * { "format": "examvault-passcode-key/1", "key": "<base64url of 32 bytes>", "createdAt": "<ISO 8601>" }
 * ```
 */
import { createHmac, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { CanonicalPasscode } from '../../protocol/passcode-format.js';
import { cellDir } from '../regions/cells.js';
import { isErrno } from '../storage/errors.js';
import { DirSyncer, DurableDirs, TempNames, createFileOnce, readSecretFile } from '../storage/fs-durable.js';

export const PASSCODE_KEY_FILE = 'passcode-key.json';
const FORMAT = 'examvault-passcode-key/1';

export class PasscodeKeyError extends Error {
  constructor(readonly code: 'EV_ERR_PASSCODE_KEY_PERMISSIONS' | 'EV_ERR_PASSCODE_KEY_MALFORMED', message: string) {
    super(message);
    this.name = 'PasscodeKeyError';
  }
}

/** One cell's key, used through its two purposes only. */
export class PasscodeKey {
  constructor(private readonly key: Buffer) {}

  /** Hex HMAC-SHA256 of a canonical passcode: what the passcodes table stores and looks up. */
  passcodeHash(passcode: CanonicalPasscode): string {
    return createHmac('sha256', this.key).update('examvault passcode v1\0').update(passcode).digest('hex');
  }

  /** Hex HMAC-SHA256 of a guessing budget's name (`address <key>` or `exam <locator>`): how a lockout is kept. */
  lockoutHash(budget: string): string {
    return createHmac('sha256', this.key).update('examvault passcode lockout v1\0').update(budget).digest('hex');
  }

  /** The platform's webhook secret, `whsec_<base64url>`. */
  webhookSecret(platformId: string): string {
    return `whsec_${createHmac('sha256', this.key).update('examvault webhook secret v1\0').update(platformId).digest('base64url')}`;
  }
}

async function load(path: string): Promise<PasscodeKey> {
  const { text } = await readSecretFile(path, {
    notRegular: () => new PasscodeKeyError('EV_ERR_PASSCODE_KEY_MALFORMED', `passcode key ${path} is not a regular file`),
    exposed: (mode) => new PasscodeKeyError('EV_ERR_PASSCODE_KEY_PERMISSIONS', `passcode key ${path} has mode ${mode}: group or others may access it; it must be 0600 (chmod 600 ${path})`),
  });
  let file: { format?: unknown; key?: unknown };
  try {
    file = JSON.parse(text) as typeof file;
  } catch {
    file = {};
  }
  const key = file?.format === FORMAT && typeof file.key === 'string' && /^[A-Za-z0-9_-]{43}$/.test(file.key) ? Buffer.from(file.key, 'base64url') : null;
  if (!key || key.length !== 32) throw new PasscodeKeyError('EV_ERR_PASSCODE_KEY_MALFORMED', `passcode key ${path} is not {"format":"${FORMAT}","key":"<base64url of 32 bytes>"}`);
  return new PasscodeKey(key);
}

/** Opens (creating on first use) the passcode key of a cell folder. */
export async function openPasscodeKey(cellFolder: string): Promise<PasscodeKey> {
  const dir = join(cellFolder, 'passcodes');
  const path = join(dir, PASSCODE_KEY_FILE);
  await new DurableDirs(new DirSyncer()).ensure(dir);
  try {
    return await load(path);
  } catch (error) {
    if (!isErrno(error, 'ENOENT')) throw error;
  }
  const file = { format: FORMAT, key: randomBytes(32).toString('base64url'), createdAt: new Date().toISOString() };
  // Created once: if another process wins the race, its key is the one both use.
  await createFileOnce(dir, path, new TempNames(`.${PASSCODE_KEY_FILE}.tmp-`), Buffer.from(`${JSON.stringify(file, null, 2)}\n`, 'utf8'));
  return load(path);
}

export type PasscodeKeys = ReadonlyMap<string, PasscodeKey>;

/** The passcode keys of every served region. */
export async function openPasscodeKeys(dataDir: string, regions: readonly string[]): Promise<PasscodeKeys> {
  const keys = new Map<string, PasscodeKey>();
  for (const region of regions) keys.set(region, await openPasscodeKey(cellDir(dataDir, region)));
  return keys;
}
