/**
 * `examvault keygen`: creates an epoch key pair. The private key is written passphrase-protected
 * (docs/SPEC.md §9) with mode 0600, the public key next to it; the fingerprint goes to stdout so a
 * script can capture it and a person can compare it with what the institution's admin sees.
 *
 * Neither file replaces an existing one unless --force is given: overwriting a private key destroys
 * access to every recording sealed to it.
 */
import { unlink } from 'node:fs/promises';
import type { Command } from 'commander';
import {
  MIN_PBKDF2_ITERATIONS,
  exportPublicKey,
  fingerprint,
  generateEpochKeyPair,
  protectPrivateKey,
  publicKeyFile,
} from '../../crypto/index.js';
import { AtomicFile } from '../atomic-file.js';
import { parseIterations } from '../parse.js';
import { PASSPHRASE_ENV, readPassphrase } from '../passphrase.js';

interface KeygenOptions {
  readonly out: string;
  readonly publicOut?: string;
  readonly passphraseFile?: string;
  readonly iterations: number;
  readonly force?: boolean;
}

function json(value: unknown): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
}

async function keygen(options: KeygenOptions): Promise<void> {
  const publicOut = options.publicOut ?? `${options.out}.pub`;
  const overwrite = options.force ?? false;
  // Both temporary files exist (and both targets were checked) before the passphrase is asked for.
  const privateFile = await AtomicFile.create(options.out, { mode: 0o600, overwrite });
  let publicFile: AtomicFile | undefined;
  let privateCommitted = false;
  try {
    publicFile = await AtomicFile.create(publicOut, { overwrite });
    const passphrase = await readPassphrase({ passphraseFile: options.passphraseFile, confirm: true, what: `the new key file '${options.out}'` });
    const keys = await generateEpochKeyPair();
    await privateFile.write(json(await protectPrivateKey(keys.privateKey, keys.publicKey, passphrase, options.iterations)));
    await publicFile.write(json(await publicKeyFile(keys.publicKey)));
    await privateFile.commit();
    privateCommitted = true;
    await publicFile.commit();
    process.stdout.write(`${await fingerprint(await exportPublicKey(keys.publicKey))}\n`);
    process.stderr.write(`wrote private key ${options.out} (mode 0600) and public key ${publicOut}\n`);
  } catch (e) {
    await privateFile.abort();
    await publicFile?.abort();
    // A private key without its public half is useless and confusing; remove the one just written.
    if (privateCommitted) await unlink(options.out).catch(() => undefined);
    throw e;
  }
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
    .action((options: KeygenOptions) => keygen(options));
}
