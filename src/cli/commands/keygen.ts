/**
 * `examvault keygen`: creates an epoch key pair. The private key is written passphrase-protected
 * (docs/SPEC.md §9) with mode 0600, the public key next to it; the fingerprint goes to stdout so a
 * script can capture it and a person can compare it with what the institution's admin sees.
 *
 * Neither file replaces an existing one unless --force is given: overwriting a private key destroys
 * access to every recording sealed to it. `writeEpochKeyFiles` is the one code path that writes a new
 * key pair; `examvault institutions create` uses it too.
 */
import { unlink } from 'node:fs/promises';
import type { Command } from 'commander';
import {
  type EpochKeyPair,
  MIN_PBKDF2_ITERATIONS,
  exportPublicKey,
  fingerprint,
  generateEpochKeyPair,
  protectPrivateKey,
  publicKeyFile,
} from '../../crypto/index.js';
import { AtomicFile } from '../atomic-file.js';
import { jsonBytes } from '../io.js';
import { parseIterations } from '../parse.js';
import { PASSPHRASE_ENV, readPassphrase } from '../passphrase.js';

/** Where the public key file goes by default: beside the private key, with `.pub` appended. */
export function defaultPublicKeyPath(privateKeyPath: string): string {
  return `${privateKeyPath}.pub`;
}

/** Where and how `writeEpochKeyFiles` writes a new key pair. */
export interface EpochKeyFileOptions {
  /** The private key file. */
  readonly out: string;
  /** The public key file; default `<out>.pub`. */
  readonly publicOut?: string | undefined;
  readonly passphraseFile?: string | undefined;
  /** PBKDF2 iterations; default (and minimum) 600,000. */
  readonly iterations?: number;
  /** Replace existing files. Default false. */
  readonly force?: boolean;
  /**
   * Runs with the new key pair once both files are written and before either is committed, for a
   * caller whose own output must exist only with the key (`custody revoke`); if it throws, neither
   * file is left.
   */
  readonly beforeCommit?: (keys: EpochKeyPair) => Promise<void>;
}

/** A key pair now on disk. The private key itself is not returned: it exists only inside the file. */
export interface WrittenEpochKeys {
  readonly privatePath: string;
  readonly publicPath: string;
  /** The 65-byte public key. */
  readonly publicKey: Uint8Array;
  /** Lowercase hex SHA-256 of `publicKey`. */
  readonly fingerprint: string;
  /** Deletes both files again, for a caller whose next step failed (`institutions create`). */
  remove(): Promise<void>;
}

/**
 * Generates an epoch key pair and writes it as `keygen` does: the private key passphrase-protected
 * with mode 0600, the public key beside it, both atomically. Both targets are checked (and their
 * temporary files created) before the passphrase is asked for; on any failure neither file is left.
 */
export async function writeEpochKeyFiles(options: EpochKeyFileOptions): Promise<WrittenEpochKeys> {
  const publicOut = options.publicOut ?? defaultPublicKeyPath(options.out);
  const overwrite = options.force ?? false;
  const privateFile = await AtomicFile.create(options.out, { mode: 0o600, overwrite });
  let publicFile: AtomicFile | undefined;
  let privateCommitted = false;
  try {
    publicFile = await AtomicFile.create(publicOut, { overwrite });
    const passphrase = await readPassphrase({ passphraseFile: options.passphraseFile, confirm: true, what: `the new key file '${options.out}'` });
    const keys = await generateEpochKeyPair();
    await privateFile.write(jsonBytes(await protectPrivateKey(keys.privateKey, keys.publicKey, passphrase, options.iterations ?? MIN_PBKDF2_ITERATIONS)));
    await publicFile.write(jsonBytes(await publicKeyFile(keys.publicKey)));
    await options.beforeCommit?.(keys);
    await privateFile.commit();
    privateCommitted = true;
    await publicFile.commit();
    const publicKey = await exportPublicKey(keys.publicKey);
    return {
      privatePath: options.out,
      publicPath: publicOut,
      publicKey,
      fingerprint: await fingerprint(publicKey),
      remove: async () => {
        await unlink(options.out).catch(() => undefined);
        await unlink(publicOut).catch(() => undefined);
      },
    };
  } catch (e) {
    await privateFile.abort();
    await publicFile?.abort();
    // A private key without its public half is useless and confusing; remove the one just written.
    if (privateCommitted) await unlink(options.out).catch(() => undefined);
    throw e;
  }
}

async function keygen(options: EpochKeyFileOptions): Promise<void> {
  const written = await writeEpochKeyFiles(options);
  process.stdout.write(`${written.fingerprint}\n`);
  process.stderr.write(`wrote private key ${written.privatePath} (mode 0600) and public key ${written.publicPath}\n`);
}

/** Registers `keygen` on the program. */
export function registerKeygen(program: Command): void {
  program
    .command('keygen')
    .summary('create an epoch key pair')
    .description('Create an epoch key pair: a passphrase-protected private key file (mode 0600) and a public key file. '
      + 'Prints the public key fingerprint (hex SHA-256) to stdout. Existing files are never replaced without --force.')
    .requiredOption('--out <file>', 'where to write the private key file')
    .option('--public-out <file>', 'where to write the public key file (default: "<out>.pub")')
    .option('--passphrase-file <file>', `read the passphrase from this file (default: $${PASSPHRASE_ENV}, else ask twice on the terminal)`)
    .option('--iterations <n>', `PBKDF2 iterations protecting the private key, ${MIN_PBKDF2_ITERATIONS} or more`, parseIterations, MIN_PBKDF2_ITERATIONS)
    .option('--force', 'replace existing key files (destroys the old private key)')
    .addHelpText('after', `
Examples:
  $ examvault keygen --out epoch-1.key
  $ examvault keygen --out epoch-1.key --passphrase-file pass.txt --iterations 1000000`)
    .action((options: EpochKeyFileOptions) => keygen(options));
}
