/**
 * `examvault custody approve`: an admin approves a member's keys (docs/KEY-CUSTODY.md §9), the one
 * operation that gives anyone access, run on the admin's machine and never on the server.
 *
 * The admin types the safety number the member reads out from their own screen. It is compared with
 * the number of the registration given here before any passphrase is asked for and before anything is
 * made: a server that substituted the member's keys shows another number, and the command refuses
 * with EV_ERR_CUSTODY_SAFETY_NUMBER_MISMATCH, leaving no output. Then the epoch private key is sealed
 * to the member (the grant) and the admin signs the approval statement; the output is exactly the
 * body of `POST /v1/custody/grants`.
 */
import type { Command } from 'commander';
import { approveReviewer, toBase64Url } from '../../crypto/index.js';
import type { GrantRequest } from '../../protocol/custody.js';
import { assertAbsent } from '../atomic-file.js';
import { type AdminSignOptions, adminSignFlags, adminSignInput, readAdminKeyFile, readComparedRegistration, writeBody } from '../custody-admin.js';

async function approve(options: AdminSignOptions): Promise<void> {
  if (options.out !== undefined && !options.force) await assertAbsent(options.out);
  const admin = await readAdminKeyFile(options.key, 'only an admin\'s keys sign approvals');
  // Checked here first, before any passphrase: the library checks again before it makes anything.
  const { signed, statement } = await readComparedRegistration(options.registration, admin, options.safetyNumber, 'approve');
  const approved = await approveReviewer(await adminSignInput(options, admin, signed));
  const body: GrantRequest = { grant: approved.grant, approval: toBase64Url(approved.approval) };
  await writeBody(body, options);
  process.stderr.write(`approved ${statement.reviewer}'s keys for epoch ${options.epoch}: upload ${options.out ?? 'this body'} with POST /v1/custody/grants\n`);
}

/** Registers `custody approve` on the `custody` command. */
export function registerCustodyApprove(custody: Command): void {
  adminSignFlags(custody
    .command('approve')
    .summary('grant the epoch key to a member, after comparing the safety number')
    .description('Approve a member\'s keys: check the safety number you typed (the one the member reads out from their own screen) '
      + 'against their registration, then seal the epoch private key to them and sign the approval statement. Writes the body of '
      + 'POST /v1/custody/grants. A safety number that does not match is refused before any passphrase is asked for, and nothing is written.'), {
    key: 'your own member key file (`custody keygen --role admin`)',
    epochKey: 'the epoch private key file (`keygen` or `institutions create` wrote it)',
    registration: 'the member\'s registration: their entry of GET /v1/custody/reviewers, or their member key file',
    safetyNumber: 'the 40 digits the member read out to you, in quotes',
  })
    .addHelpText('after', `
Example:
  $ examvault custody approve --key adm-1.keys.json --epoch-key epoch-1.key --epoch 1 \\
      --registration rev-1.registration.json --safety-number "10434 19891 20930 55136 84760 12516 43263 46399" -o rev-1.grant.json`)
    .action((options: AdminSignOptions) => approve(options));
}
