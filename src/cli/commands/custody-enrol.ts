/**
 * `examvault custody enrol`: an enrolled admin enrols another admin (docs/CUSTODY-SERVER.md "Admins:
 * set-up and enrolment"), on the enrolling admin's machine. An admin's keys count only once an
 * admin-enrolment names them, because a server could otherwise give any admin session keys of its
 * choosing.
 *
 * As for `custody approve`, the safety number the new admin reads out is compared with the number of
 * the registration given here before any passphrase is asked for and before anything is made. Then
 * the epoch private key is sealed to the new admin and the enrolling admin signs the admin-enrolment;
 * the output is exactly the body of `POST /v1/custody/admins`. Epochs beyond the one given here are
 * granted afterwards with `custody approve`, which the server accepts for an enrolled admin.
 */
import type { Command } from 'commander';
import { enrolAdminKeys, toBase64Url } from '../../crypto/index.js';
import type { AdminEnrolmentRequest } from '../../protocol/custody.js';
import { assertAbsent } from '../atomic-file.js';
import { type AdminSignOptions, adminSignFlags, adminSignInput, readAdminKeyFile, readComparedRegistration, writeBody } from '../custody-admin.js';
import { usageError } from '../errors.js';

async function enrol(options: AdminSignOptions): Promise<void> {
  if (options.out !== undefined && !options.force) await assertAbsent(options.out);
  const admin = await readAdminKeyFile(options.key, 'only an enrolled admin enrols another');
  const { signed, statement } = await readComparedRegistration(options.registration, admin, options.safetyNumber, 'enrol');
  if (statement.reviewer === admin.member) {
    throw usageError(`the registration is your own ('${admin.member}'): an admin cannot enrol itself`,
      'another enrolled admin enrols you; if every admin is lost, the recovery key does (POST /v1/custody/recovery/admins)');
  }
  const enrolled = await enrolAdminKeys(await adminSignInput(options, admin, signed));
  const body: AdminEnrolmentRequest = { enrolment: toBase64Url(enrolled.enrolment), grants: [enrolled.grant] };
  await writeBody(body, options);
  process.stderr.write(`enrolled ${statement.reviewer}'s admin keys with epoch ${options.epoch}: upload ${options.out ?? 'this body'} with POST /v1/custody/admins\n`);
}

/** Registers `custody enrol` on the `custody` command. */
export function registerCustodyEnrol(custody: Command): void {
  adminSignFlags(custody
    .command('enrol')
    .summary('enrol another admin\'s keys and grant it the epoch key, after comparing the safety number')
    .description('Enrol another admin: check the safety number you typed (the one the new admin reads out from their own screen) '
      + 'against their registration, then sign the admin-enrolment of their keys and seal the epoch private key to them. Writes the body of '
      + 'POST /v1/custody/admins. A safety number that does not match is refused before any passphrase is asked for, and nothing is written.'), {
    key: 'your own member key file (`custody keygen --role admin`); your keys must be enrolled',
    epochKey: 'the current epoch private key file (`keygen` or `institutions create` wrote it)',
    registration: 'the new admin\'s registration: their entry of GET /v1/custody/admins, or their member key file',
    safetyNumber: 'the 40 digits the new admin read out to you, in quotes',
  })
    .addHelpText('after', `
Example:
  $ examvault custody enrol --key adm-1.keys.json --epoch-key epoch-1.key --epoch 1 \\
      --registration adm-2.registration.json --safety-number "10434 19891 20930 55136 84760 12516 43263 46399" -o adm-2.enrolment.json`)
    .action((options: AdminSignOptions) => enrol(options));
}
