/**
 * `examvault custody revoke`: an enrolled admin revokes a reviewer (docs/KEY-CUSTODY.md §7.5,
 * docs/CUSTODY-SERVER.md `POST /v1/custody/revocations`), on the admin's machine. A revocation starts
 * a new epoch, so the command makes the new epoch key pair and writes three files together:
 *
 * - the new epoch private key, wrapped by a passphrase with mode 0600, and its public key beside it,
 *   as `examvault keygen` writes them (the private key exists in no other form);
 * - the body of `POST /v1/custody/revocations`: the revocation statement signed by the admin, naming
 *   the reviewer, the new epoch and its public key, and `recoveryGrant`, the new epoch private key
 *   sealed to the institution's recovery key, so the recovery key never loses an epoch.
 *
 * The recovery key is taken from its institution statement (a recovery file), verified, and pinned
 * with `--recovery-fingerprint` to the fingerprint `custody recovery-key` printed at set-up: a server
 * serving a statement of its own making would otherwise receive every new epoch. All three files are
 * committed, or none is left.
 */
import type { Command } from 'commander';
import { createRevocation, toBase64Url } from '../../crypto/index.js';
import type { RevocationRequest } from '../../protocol/custody.js';
import { AtomicFile, assertAbsent } from '../atomic-file.js';
import { readAdminKeyFile } from '../custody-admin.js';
import { readRecoveryFile, unlockMemberKey } from '../custody-files.js';
import { CliError, usageError } from '../errors.js';
import { jsonBytes } from '../io.js';
import { idFlag, parseEpoch } from '../parse.js';
import { PASSPHRASE_ENV } from '../passphrase.js';
import { defaultPublicKeyPath, writeEpochKeyFiles } from './keygen.js';

interface RevokeOptions {
  readonly key: string;
  readonly passphraseFile?: string;
  readonly reviewer: string;
  readonly epoch: number;
  readonly recovery: string;
  readonly recoveryFingerprint: string;
  readonly newEpochKey: string;
  readonly newEpochPublicKey?: string;
  readonly newEpochPassphraseFile?: string;
  readonly out: string;
  readonly force?: boolean;
}

async function revoke(options: RevokeOptions): Promise<void> {
  if (options.epoch < 2) {
    throw usageError(`--epoch ${options.epoch}: a revocation starts a new epoch, 2 or later`,
      '--epoch takes the new epoch: the current one (GET /v1/custody/epoch) plus 1');
  }
  const admin = await readAdminKeyFile(options.key, 'only an enrolled admin revokes');
  const recovery = await readRecoveryFile(options.recovery, admin.institution);
  if (recovery.fingerprint !== options.recoveryFingerprint) {
    throw new CliError('EV_ERR_CUSTODY_BINDING_MISMATCH',
      `the recovery key in '${options.recovery}' has fingerprint ${recovery.fingerprint}, not ${options.recoveryFingerprint}`,
      'do not revoke with it: the new epoch would be granted to a key that is not your institution\'s recovery key. Check the fingerprint '
      + '`custody recovery-key` printed at set-up (also in the custody.recovery-set audit event), and fetch GET /v1/custody/recovery again');
  }
  // Every target is checked before any passphrase is asked for; the body's is claimed now, the key files' by writeEpochKeyFiles.
  const publicOut = options.newEpochPublicKey ?? defaultPublicKeyPath(options.newEpochKey);
  if (!options.force) for (const target of [options.newEpochKey, publicOut]) await assertAbsent(target);
  const bodyFile = await AtomicFile.create(options.out, { overwrite: options.force ?? false });
  try {
    const signingKey = await unlockMemberKey(admin, 'signing', options.passphraseFile);
    const written = await writeEpochKeyFiles({
      out: options.newEpochKey,
      publicOut,
      passphraseFile: options.newEpochPassphraseFile,
      force: options.force ?? false,
      beforeCommit: async (keys) => {
        const made = await createRevocation({
          institution: admin.institution, admin: admin.member, adminSigningKey: signingKey, reviewer: options.reviewer,
          epoch: options.epoch, newEpochKeys: keys, recovery: recovery.statement,
        });
        const body: RevocationRequest = { revocation: toBase64Url(made.revocation), recoveryGrant: made.recoveryGrant };
        await bodyFile.write(jsonBytes(body));
      },
    });
    try {
      await bodyFile.commit();
    } catch (e) {
      await written.remove();
      throw e;
    }
    process.stdout.write(`${written.fingerprint}\n`);
    process.stderr.write(`revoked ${options.reviewer}, starting epoch ${options.epoch}: upload ${options.out} with POST /v1/custody/revocations. `
      + `Wrote the new epoch key ${written.privatePath} (mode 0600) and ${written.publicPath}; once the revocation is accepted, grant epoch ${options.epoch} `
      + 'to yourself and to every reviewer still approved with `custody approve --epoch-key` this new key, and re-wrap older recordings.\n');
  } catch (e) {
    await bodyFile.abort();
    throw e;
  }
}

/** Registers `custody revoke` on the `custody` command. */
export function registerCustodyRevoke(custody: Command): void {
  custody
    .command('revoke')
    .summary('revoke a reviewer: a new epoch key pair and the revocation, granted to the recovery key')
    .description('Revoke a reviewer: create the new epoch\'s key pair (the private key passphrase-wrapped, mode 0600, the public key beside it) '
      + 'and write the body of POST /v1/custody/revocations: the revocation signed by you, naming the reviewer, the new epoch and its public key, '
      + 'and the new epoch key granted to the institution\'s recovery key, checked against the fingerprint printed at set-up. '
      + 'Prints the new public key\'s fingerprint. All files are written, or none.')
    .requiredOption('--key <file>', 'your own member key file (`custody keygen --role admin`); your keys must be enrolled')
    .requiredOption('--reviewer <id>', 'the staff id of the reviewer to revoke', idFlag('--reviewer', 'rev-1'))
    .requiredOption('--epoch <n>', 'the new epoch: the current one plus 1 (2 or more)', parseEpoch)
    .requiredOption('--recovery <file>', 'the answer of GET /v1/custody/recovery, or the set-up body `custody recovery-key` wrote')
    .requiredOption('--recovery-fingerprint <fingerprint>', 'the recovery key fingerprint `custody recovery-key` printed at set-up')
    .requiredOption('--new-epoch-key <file>', 'where to write the new epoch private key file')
    .requiredOption('-o, --out <file>', 'where to write the revocation body')
    .option('--new-epoch-public-key <file>', 'where to write the new epoch public key file (default: "<new-epoch-key>.pub")')
    .option('--passphrase-file <file>', `read the passphrase of --key from this file (default: $${PASSPHRASE_ENV}, else ask on the terminal)`)
    .option('--new-epoch-passphrase-file <file>', `read the new epoch key's passphrase from this file (default: $${PASSPHRASE_ENV}, else ask twice on the terminal)`)
    .option('--force', 'replace existing output files')
    .addHelpText('after', `
Example:
  $ examvault custody revoke --key adm-1.keys.json --reviewer rev-2 --epoch 2 --recovery recovery.json \\
      --recovery-fingerprint 3qV0… --new-epoch-key epoch-2.key -o rev-2.revocation.json
The public key goes to ${defaultPublicKeyPath('epoch-2.key')} unless --new-epoch-public-key says otherwise.`)
    .action((options: RevokeOptions) => revoke(options));
}
