/**
 * The tool's own signing keys (RS256, as LTI 1.3 mandates): what signs deep-linking responses,
 * LtiStartAssessment messages and client assertions, published as the tool JWKS that platforms
 * fetch (GET /v1/lti/jwks).
 *
 * On disk, `<dataDir>/lti/tool-keys.json`, mode 0600 in a 0700 directory, created on first use with
 * createFileOnce (never over a file another process created first), refused with
 * EV_ERR_LTI_TOOL_KEYS_PERMISSIONS when group or others may read it:
 * ```json
 * { "format": "examvault-lti-tool-keys/1",
 *   "keys": [{ "kid": "...", "privateJwk": {...}, "createdAt": "<ISO 8601>", "retiredAt": null }] }
 * ```
 * The one key without `retiredAt` signs. `rotate` (the CLI's `examvault lti keys rotate`) adds a new
 * key and retires the signing one; a retired key stays published for `ROTATION_GRACE_MS`, so a
 * platform that cached the old set still verifies what was signed just before, then is dropped at the
 * next rotation. Rotation is a durable atomic replace; a running server rereads the file when it changes.
 */
import { randomBytes } from 'node:crypto';
import { rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { type JWK, exportJWK, generateKeyPair, importJWK } from 'jose';
import { isErrno } from '../storage/errors.js';
import { DirSyncer, DurableDirs, TempNames, createFileOnce, readSecretFile, syncDir, writeTempFile } from '../storage/fs-durable.js';

export const TOOL_KEYS_FILE = 'tool-keys.json';
const FORMAT = 'examvault-lti-tool-keys/1';
/** A retired key stays in the JWKS this long: longer than any platform caches a key set. */
export const ROTATION_GRACE_MS = 7 * 24 * 3600 * 1000;

export class ToolKeysError extends Error {
  constructor(
    readonly code: 'EV_ERR_LTI_TOOL_KEYS_PERMISSIONS' | 'EV_ERR_LTI_TOOL_KEYS_MALFORMED',
    message: string,
  ) {
    super(message);
  }
}

interface StoredKey {
  readonly kid: string;
  readonly privateJwk: JWK;
  readonly createdAt: string;
  readonly retiredAt: string | null;
}

interface ToolKeysFile {
  readonly format: typeof FORMAT;
  readonly keys: readonly StoredKey[];
}

export interface ToolSigner {
  readonly kid: string;
  readonly key: CryptoKey;
}

export interface ToolKeyInfo {
  readonly kid: string;
  readonly createdAt: string;
  readonly retiredAt: string | null;
  readonly published: boolean;
}

const publicPart = (jwk: JWK): JWK => ({ kty: jwk.kty, n: jwk.n, e: jwk.e });

async function newKey(now: number): Promise<StoredKey> {
  const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  return { kid: randomBytes(12).toString('base64url'), privateJwk: await exportJWK(privateKey), createdAt: new Date(now).toISOString(), retiredAt: null };
}

function serialize(file: ToolKeysFile): Uint8Array {
  return Buffer.from(`${JSON.stringify(file, null, 2)}\n`, 'utf8');
}

function malformed(path: string, why: string): ToolKeysError {
  return new ToolKeysError('EV_ERR_LTI_TOOL_KEYS_MALFORMED', `LTI tool keys ${path} are malformed: ${why}`);
}

async function load(path: string): Promise<{ file: ToolKeysFile; stamp: string }> {
  const { text, stats } = await readSecretFile(path, {
    notRegular: () => malformed(path, 'not a regular file'),
    exposed: (mode) => new ToolKeysError('EV_ERR_LTI_TOOL_KEYS_PERMISSIONS', `LTI tool keys ${path} have mode ${mode}: group or others may read them; they must be 0600 (chmod 600 ${path}, then rotate)`),
  });
  let file: Partial<ToolKeysFile>;
  try {
    file = JSON.parse(text) as Partial<ToolKeysFile>;
  } catch {
    throw malformed(path, 'not JSON');
  }
  if (file?.format !== FORMAT || !Array.isArray(file.keys)) throw malformed(path, `format is not "${FORMAT}"`);
  const signing = file.keys.filter((k) => k?.retiredAt === null);
  if (signing.length !== 1) throw malformed(path, 'exactly one key must be unretired');
  for (const k of file.keys) if (typeof k?.kid !== 'string' || k.privateJwk?.kty !== 'RSA' || typeof k.privateJwk.d !== 'string') throw malformed(path, 'a key is not an RSA private JWK with a kid');
  return { file: file as ToolKeysFile, stamp: `${stats.ino}:${stats.size}:${stats.mtimeMs}` };
}

export class ToolKeys {
  private file: ToolKeysFile;
  private stamp: string;
  private signer: ToolSigner | null = null;
  private readonly temps = new TempNames(`.${TOOL_KEYS_FILE}.tmp-`);

  private constructor(
    readonly dir: string,
    loaded: { file: ToolKeysFile; stamp: string },
    private readonly clock: () => number,
  ) {
    this.file = loaded.file;
    this.stamp = loaded.stamp;
  }

  get path(): string {
    return join(this.dir, TOOL_KEYS_FILE);
  }

  /** Opens the key set in `dir` (the data directory's `lti/`), creating it with one key if there is none. */
  static async open(dir: string, clock: () => number = Date.now): Promise<ToolKeys> {
    await new DurableDirs(new DirSyncer()).ensure(dir);
    const path = join(dir, TOOL_KEYS_FILE);
    try {
      return new ToolKeys(dir, await load(path), clock);
    } catch (error) {
      if (!isErrno(error, 'ENOENT')) throw error;
    }
    const file: ToolKeysFile = { format: FORMAT, keys: [await newKey(clock())] };
    await createFileOnce(dir, path, new TempNames(`.${TOOL_KEYS_FILE}.tmp-`), serialize(file));
    return new ToolKeys(dir, await load(path), clock);
  }

  /** Rereads the file when another process (the CLI) replaced it. */
  private async refresh(): Promise<void> {
    const info = await stat(this.path);
    if (`${info.ino}:${info.size}:${info.mtimeMs}` === this.stamp) return;
    const loaded = await load(this.path);
    this.file = loaded.file;
    this.stamp = loaded.stamp;
    this.signer = null;
  }

  private published(now: number): StoredKey[] {
    return this.file.keys.filter((k) => k.retiredAt === null || Date.parse(k.retiredAt) + ROTATION_GRACE_MS > now);
  }

  /** The tool JWKS: the signing key and the retired keys still in their grace period. Public parts only. */
  async jwks(): Promise<{ keys: JWK[] }> {
    await this.refresh();
    return { keys: this.published(this.clock()).map((k) => ({ ...publicPart(k.privateJwk), kid: k.kid, alg: 'RS256', use: 'sig' })) };
  }

  async current(): Promise<ToolSigner> {
    await this.refresh();
    if (!this.signer) {
      const k = this.file.keys.find((x) => x.retiredAt === null) as StoredKey;
      this.signer = { kid: k.kid, key: (await importJWK(k.privateJwk, 'RS256')) as CryptoKey };
    }
    return this.signer;
  }

  async info(): Promise<ToolKeyInfo[]> {
    await this.refresh();
    const published = new Set(this.published(this.clock()).map((k) => k.kid));
    return this.file.keys.map((k) => ({ kid: k.kid, createdAt: k.createdAt, retiredAt: k.retiredAt, published: published.has(k.kid) }));
  }

  /** Adds a new signing key, retires the old one, and drops retired keys past their grace period. */
  async rotate(): Promise<ToolKeyInfo[]> {
    await this.refresh();
    const now = this.clock();
    const kept = this.published(now).map((k) => (k.retiredAt === null ? { ...k, retiredAt: new Date(now).toISOString() } : k));
    const next: ToolKeysFile = { format: FORMAT, keys: [...kept, await newKey(now)] };
    const temp = await writeTempFile(this.dir, this.temps, serialize(next));
    try {
      await rename(temp, this.path);
    } catch (error) {
      await unlink(temp).catch(() => {});
      throw error;
    }
    await syncDir(this.dir);
    return this.info();
  }
}
