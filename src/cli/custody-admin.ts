/**
 * The checks every admin command of `custody` makes before it signs anything (approve, enrol,
 * recovery-key, revoke): that `--key` holds an admin's keys, and that the registration of the member
 * being approved or enrolled is of the admin's institution and has the safety number the admin typed.
 * Both run before any passphrase is asked for, so a wrong file or a substituted key costs no prompt and
 * leaves nothing behind. Also the flags approve and enrol share, and how they write the body.
 */
import type { Command } from 'commander';
import { writeAtomically } from './atomic-file.js';
import { type ApproveReviewerInput, safetyNumber, safetyNumbersMatch } from '../crypto/index.js';
import { type MemberKeyFile, type Registration, readMemberKeyFile, readRegistration, unlockMemberKey } from './custody-files.js';
import { CliError } from './errors.js';
import { jsonBytes, writeStdout } from './io.js';
import { loadPrivateKey } from './keys.js';
import { parseEpoch, parseSafetyNumber } from './parse.js';
import { PASSPHRASE_ENV } from './passphrase.js';

/** Reads `--key` and refuses anything but an admin's member key file. */
export async function readAdminKeyFile(path: string, why: string): Promise<MemberKeyFile> {
  const admin = await readMemberKeyFile(path);
  if (admin.role !== 'admin') {
    throw new CliError('EV_ERR_CLI_WRONG_ROLE', `'${path}' holds the keys of ${admin.role} '${admin.member}', not an admin's: ${why}`,
      '--key takes your own member key file, made with `examvault custody keygen --role admin`');
  }
  return admin;
}

/**
 * Reads the registration of the member `admin` is about to vouch for, and compares the safety number
 * typed with the one computed here from the registration's own ids and keys. A server that
 * substituted the member's keys shows another number: EV_ERR_CUSTODY_SAFETY_NUMBER_MISMATCH.
 */
export async function readComparedRegistration(path: string, admin: MemberKeyFile, typed: string, verb: 'approve' | 'enrol'): Promise<Registration> {
  const registration = await readRegistration(path);
  const { statement } = registration;
  if (statement.institution !== admin.institution) {
    throw new CliError('EV_ERR_CUSTODY_BINDING_MISMATCH', `the registration is for institution '${statement.institution}', yours is '${admin.institution}'`,
      `you can ${verb} only members of your own institution: check that you fetched the right member's registration`);
  }
  const expected = await safetyNumber({ institution: statement.institution, member: statement.reviewer, keys: statement });
  if (!safetyNumbersMatch(typed, expected)) {
    throw new CliError('EV_ERR_CUSTODY_SAFETY_NUMBER_MISMATCH',
      `the safety number typed is not the one of ${statement.reviewer}'s registration: its keys may have been substituted`,
      `do not ${verb}: check the digits with the member once more; if they still differ, the registration is not theirs: ask them to register again`);
  }
  return registration;
}

/** The flags `custody approve` and `custody enrol` share: the admin's key, the epoch key, the member compared, the output. */
export interface AdminSignOptions {
  readonly key: string;
  readonly passphraseFile?: string;
  readonly epochKey: string;
  readonly epochPassphraseFile?: string;
  readonly epoch: number;
  readonly registration: string;
  readonly safetyNumber: string;
  readonly out?: string;
  readonly force?: boolean;
}

/** Declares the flags of AdminSignOptions on `command`; `texts` says what each file or number is for this command. */
export function adminSignFlags(command: Command, texts: { readonly key: string; readonly epochKey: string; readonly registration: string; readonly safetyNumber: string }): Command {
  return command
    .requiredOption('--key <file>', texts.key)
    .requiredOption('--epoch-key <file>', texts.epochKey)
    .requiredOption('--epoch <n>', 'the epoch of --epoch-key (1 or more)', parseEpoch)
    .requiredOption('--registration <file>', texts.registration)
    .requiredOption('--safety-number <digits>', texts.safetyNumber, parseSafetyNumber)
    .option('--passphrase-file <file>', `read the passphrase of --key from this file (default: $${PASSPHRASE_ENV}, else ask on the terminal)`)
    .option('--epoch-passphrase-file <file>', `read the passphrase of --epoch-key from this file (default: $${PASSPHRASE_ENV}, else ask on the terminal)`)
    .option('-o, --out <file>', 'write the body here, atomically (default: stdout)')
    .option('--force', 'replace the -o file if it exists');
}

/**
 * What approveReviewer and enrolAdminKeys both sign from: the compared registration, the admin's
 * signing key and the epoch key. Their passphrases are asked for here, after every check on the files.
 */
export async function adminSignInput(options: AdminSignOptions, admin: MemberKeyFile, registration: Uint8Array): Promise<ApproveReviewerInput> {
  const adminSigningKey = await unlockMemberKey(admin, 'signing', options.passphraseFile);
  const epochKey = await loadPrivateKey(options.epochKey, options.epochPassphraseFile, '--epoch-key');
  return {
    registration,
    confirmedSafetyNumber: options.safetyNumber,
    institution: admin.institution,
    epoch: options.epoch,
    epochPrivateKey: epochKey.privateKey,
    admin: admin.member,
    adminSigningKey,
  };
}

/** Writes an API body to `--out` atomically (refusing to replace it without `--force`), or to stdout. */
export async function writeBody(body: unknown, options: Pick<AdminSignOptions, 'out' | 'force'>): Promise<void> {
  if (options.out !== undefined) await writeAtomically(options.out, { overwrite: options.force ?? false }, (file) => file.write(jsonBytes(body)));
  else await writeStdout([jsonBytes(body)]);
}
