/**
 * `examvault custody keygen`: a staff member's own keys, made on this machine (docs/KEY-CUSTODY.md §3):
 * an HPKE key pair that grants are sealed to and an ECDSA P-256 signing key pair. Every member has
 * both, admins and reviewers alike: the key registration is self-signed, and the member fingerprint
 * that approvals name covers the two public keys.
 *
 * The output file is exactly the body of `PUT /v1/custody/me/keys`: the signed key registration and
 * both private keys wrapped by the passphrase (§5; one PBKDF2 salt for both, 600,000 iterations). No
 * private key is written in any other form. The file is also the member's key file for `open --grant`
 * and `custody approve`, and is written with mode 0600 although only wrapped keys are in it.
 *
 * The passphrase must be long (MIN_PASSPHRASE_LENGTH): the server stores the wrapped keys, so whoever
 * holds the server can try passphrases offline, at the cost of 600,000 PBKDF2 iterations per guess.
 */
import type { Command } from 'commander';
import { MIN_MEMBER_PASSPHRASE_LENGTH, createMemberKeyFile, safetyNumber, toBase64Url } from '../../crypto/index.js';
import type { RegisterKeysRequest } from '../../protocol/custody.js';
import { AtomicFile } from '../atomic-file.js';
import { jsonBytes } from '../io.js';
import { contextField, idFlag, parseRole } from '../parse.js';
import { PASSPHRASE_ENV, readPassphrase } from '../passphrase.js';

/** The shortest passphrase for a member key (src/crypto/passphrase.ts, shared with the web apps). */
export const MIN_PASSPHRASE_LENGTH = MIN_MEMBER_PASSPHRASE_LENGTH;

interface KeygenOptions {
  readonly institution: string;
  readonly member: string;
  readonly role: 'admin' | 'reviewer';
  readonly out: string;
  readonly passphraseFile?: string;
  readonly force?: boolean;
}

async function keygen(options: KeygenOptions): Promise<void> {
  // The target is claimed before the passphrase is asked for; on any failure nothing is left there.
  const file = await AtomicFile.create(options.out, { mode: 0o600, overwrite: options.force ?? false });
  try {
    const passphrase = await readPassphrase({
      passphraseFile: options.passphraseFile,
      confirm: true,
      minLength: MIN_PASSPHRASE_LENGTH,
      what: `the new member key file '${options.out}'`,
    });
    const made = await createMemberKeyFile({ institution: options.institution, member: options.member, role: options.role, passphrase });
    const body: RegisterKeysRequest = { registration: toBase64Url(made.registration), wrappedKeys: made.wrappedKeys };
    await file.write(jsonBytes(body));
    await file.commit();
    process.stdout.write(`${await safetyNumber({ institution: options.institution, member: options.member, keys: made.keys })}\n`);
    process.stderr.write(`wrote member key file ${options.out} (mode 0600): upload it as it is with PUT /v1/custody/me/keys, and keep it to unlock `
      + 'your keys here. Read the safety number above to your admin when they approve you; it is also what `custody safety-number` shows for this file.\n');
  } catch (e) {
    await file.abort();
    throw e;
  }
}

/** Registers `custody keygen` on the `custody` command. */
export function registerCustodyKeygen(custody: Command): void {
  custody
    .command('keygen')
    .summary('create your own member keys (admin or reviewer)')
    .description('Create a staff member\'s key pairs on this machine: an HPKE key pair for grants and an ECDSA P-256 signing key pair. '
      + 'Writes the body of PUT /v1/custody/me/keys (the self-signed key registration and both private keys wrapped by the passphrase; '
      + 'mode 0600) and prints the safety number to stdout. Existing files are never replaced without --force.')
    .requiredOption('--institution <id>', 'your institution\'s id', contextField('institution'))
    .requiredOption('--member <id>', 'your staff id (as the server knows you)', idFlag('--member', 'rev-1'))
    .requiredOption('--role <role>', 'reviewer or admin', parseRole)
    .requiredOption('--out <file>', 'where to write the member key file')
    .option('--passphrase-file <file>', `read the passphrase from this file (default: $${PASSPHRASE_ENV}, else ask twice on the terminal); at least ${MIN_PASSPHRASE_LENGTH} characters`)
    .option('--force', 'replace an existing file (destroys the keys in it)')
    .addHelpText('after', `
Example:
  $ examvault custody keygen --institution inst-7f3a --member rev-1 --role reviewer --out rev-1.keys.json`)
    .action((options: KeygenOptions) => keygen(options));
}
