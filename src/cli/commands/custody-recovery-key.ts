/**
 * `examvault custody recovery-key`: the institution's recovery key (docs/KEY-CUSTODY.md §8), made at
 * set-up on the first admin's machine. The 256-bit secret is printed once, as 14 groups of 4
 * characters, and written nowhere: the output file holds only what the server needs, the body of
 * `PUT /v1/custody/recovery` (the `institution` statement self-signed by the recovery signing key,
 * and the epoch key granted to the recovery key).
 *
 * The file is committed before the key is printed: a key shown for a body that was never written
 * would be a key nobody can use.
 */
import type { Command } from 'commander';
import {
  createGrant,
  deriveRecoveryKeys,
  formatRecoveryKey,
  generateRecoverySecret,
  memberFingerprint,
  signStatement,
  toBase64Url,
} from '../../crypto/index.js';
import type { RecoverySetupRequest } from '../../protocol/custody.js';
import { assertAbsent, writeAtomically } from '../atomic-file.js';
import { jsonBytes } from '../io.js';
import { loadPrivateKey } from '../keys.js';
import { contextField, parseEpoch } from '../parse.js';
import { PASSPHRASE_ENV } from '../passphrase.js';

interface RecoveryKeyOptions {
  readonly institution: string;
  readonly epochKey: string;
  readonly epochPassphraseFile?: string;
  readonly epoch: number;
  readonly out: string;
  readonly force?: boolean;
}

async function recoveryKey(options: RecoveryKeyOptions): Promise<void> {
  if (!options.force) await assertAbsent(options.out);
  const epochKey = await loadPrivateKey(options.epochKey, options.epochPassphraseFile, '--epoch-key');
  const secret = generateRecoverySecret();
  try {
    const recovery = await deriveRecoveryKeys(secret);
    const institution = await signStatement({
      type: 'institution',
      institution: options.institution,
      timestamp: Date.now(),
      hpkePublicKey: recovery.hpkePublicKey,
      signingPublicKey: recovery.signingPublicKey,
    }, recovery.signing.privateKey);
    const body: RecoverySetupRequest = {
      institution: toBase64Url(institution),
      recoveryGrant: await createGrant(epochKey.privateKey, { institution: options.institution, epoch: options.epoch }, { kind: 'recovery', keys: recovery }),
    };
    await writeAtomically(options.out, { overwrite: options.force ?? false }, (file) => file.write(jsonBytes(body)));
    process.stdout.write(`${await formatRecoveryKey(secret)}\n`);
    process.stderr.write(`this is the institution's recovery key, shown only this once: print or write it down and keep it offline.\n`
      + `recovery key fingerprint ${toBase64Url(await memberFingerprint(recovery))} (the server's answer names the same); wrote ${options.out}: upload it with PUT /v1/custody/recovery\n`);
  } finally {
    secret.fill(0);
  }
}

/** Registers `custody recovery-key` on the `custody` command. */
export function registerCustodyRecoveryKey(custody: Command): void {
  custody
    .command('recovery-key')
    .summary('create the institution\'s recovery key (once, at set-up)')
    .description('Create the institution\'s recovery key and print it once to stdout (14 groups of 4 characters); it is written nowhere. '
      + 'Writes the body of PUT /v1/custody/recovery: the institution statement signed by the recovery key, and the epoch key granted to it.')
    .requiredOption('--institution <id>', 'the institution\'s id', contextField('institution'))
    .requiredOption('--epoch-key <file>', 'the current epoch private key file (`keygen` or `institutions create` wrote it)')
    .requiredOption('--epoch <n>', 'the epoch of --epoch-key (1 or more)', parseEpoch)
    .requiredOption('-o, --out <file>', 'where to write the set-up body')
    .option('--epoch-passphrase-file <file>', `read the passphrase of --epoch-key from this file (default: $${PASSPHRASE_ENV}, else ask on the terminal)`)
    .option('--force', 'replace the -o file if it exists')
    .addHelpText('after', `
Example:
  $ examvault custody recovery-key --institution inst-7f3a --epoch-key epoch-1.key --epoch 1 -o recovery-setup.json`)
    .action((options: RecoveryKeyOptions) => recoveryKey(options));
}
