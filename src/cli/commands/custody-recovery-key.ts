/**
 * `examvault custody recovery-key`: institution set-up by its first admin (docs/KEY-CUSTODY.md §7.5,
 * §8; docs/CUSTODY-SERVER.md "Admins: set-up and enrolment"), on that admin's machine. It makes the
 * recovery key, a 256-bit secret printed once as 14 groups of 4 characters and written nowhere, and
 * the body of `PUT /v1/custody/recovery`:
 *
 * - `institution`: the institution statement, self-signed by the recovery key it carries;
 * - `enrolment`: the admin-enrolment of the admin's keys (from their member key file), signed by the
 *   recovery key: the first admin is enrolled by the institution's root, like any later one;
 * - `epoch`: the epoch statement of the current epoch's public key, signed by the admin;
 * - `recoveryGrant` and `grant`: the current epoch key granted to the recovery key and to the admin.
 *
 * The file is committed before the key is printed: a key shown for a body that was never written
 * would be a key nobody can use.
 */
import type { Command } from 'commander';
import { createInstitutionSetUp, formatRecoveryKey, generateRecoverySecret, setUpBody, toBase64Url } from '../../crypto/index.js';
import type { SetUpRequest } from '../../protocol/custody.js';
import { assertAbsent, writeAtomically } from '../atomic-file.js';
import { readAdminKeyFile } from '../custody-admin.js';
import { unlockMemberKey } from '../custody-files.js';
import { jsonBytes } from '../io.js';
import { loadPrivateKey } from '../keys.js';
import { parseEpoch } from '../parse.js';
import { PASSPHRASE_ENV } from '../passphrase.js';

interface RecoveryKeyOptions {
  readonly key: string;
  readonly passphraseFile?: string;
  readonly epochKey: string;
  readonly epochPassphraseFile?: string;
  readonly epoch: number;
  readonly out: string;
  readonly force?: boolean;
}

async function recoveryKey(options: RecoveryKeyOptions): Promise<void> {
  if (!options.force) await assertAbsent(options.out);
  const admin = await readAdminKeyFile(options.key, 'the institution is set up by its first admin');
  const institution = admin.institution;
  const adminKeys = admin.statement;
  const signingKey = await unlockMemberKey(admin, 'signing', options.passphraseFile);
  const epochKey = await loadPrivateKey(options.epochKey, options.epochPassphraseFile, '--epoch-key');
  const secret = generateRecoverySecret();
  try {
    const setUp = await createInstitutionSetUp({
      institution, admin: admin.member, adminKeys, adminSigningKey: signingKey, epoch: options.epoch,
      epochPrivateKey: epochKey.privateKey, epochPublicKey: epochKey.publicKey, recoverySecret: secret,
    });
    const body: SetUpRequest = setUpBody(setUp);
    await writeAtomically(options.out, { overwrite: options.force ?? false }, (file) => file.write(jsonBytes(body)));
    process.stdout.write(`${await formatRecoveryKey(secret)}\n`);
    process.stderr.write(`this is the institution's recovery key, shown only this once: print or write it down and keep it offline.\n`
      + `recovery key fingerprint ${toBase64Url(setUp.recoveryFingerprint)} (the server's answer names the same; keep it to check the recovery key `
      + `\`custody revoke\` grants to); wrote ${options.out}: upload it with PUT /v1/custody/recovery, signed in as ${admin.member}\n`);
  } finally {
    secret.fill(0);
  }
}

/** Registers `custody recovery-key` on the `custody` command. */
export function registerCustodyRecoveryKey(custody: Command): void {
  custody
    .command('recovery-key')
    .summary('set the institution up: its recovery key (shown once) and your enrolment as its first admin')
    .description('Create the institution\'s recovery key and print it once to stdout (14 groups of 4 characters); it is written nowhere. '
      + 'Writes the body of PUT /v1/custody/recovery: the institution statement signed by the recovery key, the enrolment of your admin keys '
      + 'signed by it, the epoch statement signed by you, and the epoch key granted to the recovery key and to you.')
    .requiredOption('--key <file>', 'your own member key file (`custody keygen --role admin`), as registered with PUT /v1/custody/me/keys')
    .requiredOption('--epoch-key <file>', 'the current epoch private key file (`keygen` or `institutions create` wrote it)')
    .requiredOption('--epoch <n>', 'the epoch of --epoch-key (1 or more)', parseEpoch)
    .requiredOption('-o, --out <file>', 'where to write the set-up body')
    .option('--passphrase-file <file>', `read the passphrase of --key from this file (default: $${PASSPHRASE_ENV}, else ask on the terminal)`)
    .option('--epoch-passphrase-file <file>', `read the passphrase of --epoch-key from this file (default: $${PASSPHRASE_ENV}, else ask on the terminal)`)
    .option('--force', 'replace the -o file if it exists')
    .addHelpText('after', `
Example:
  $ examvault custody recovery-key --key adm-1.keys.json --epoch-key epoch-1.key --epoch 1 -o setup.json`)
    .action((options: RecoveryKeyOptions) => recoveryKey(options));
}
