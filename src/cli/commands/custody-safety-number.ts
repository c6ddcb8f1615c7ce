/**
 * `examvault custody safety-number`: the safety number of a member's key registration
 * (docs/KEY-CUSTODY.md §4), as an admin's client shows it before approving. The registration's
 * self-signature is checked first; the number is computed here from the registration's own ids and
 * keys, never taken from what a server says beside it.
 */
import type { Command } from 'commander';
import { safetyNumber } from '../../crypto/index.js';
import { CliError } from '../errors.js';
import { readRegistration } from '../custody-files.js';
import { contextField } from '../parse.js';

interface SafetyNumberOptions {
  readonly institution?: string;
}

async function show(path: string, options: SafetyNumberOptions): Promise<void> {
  const { statement } = await readRegistration(path);
  if (options.institution !== undefined && statement.institution !== options.institution) {
    throw new CliError('EV_ERR_CUSTODY_BINDING_MISMATCH', `the registration in '${path}' is for institution '${statement.institution}', not '${options.institution}'`,
      'a registration of another institution cannot be approved here: check that you fetched the right member');
  }
  process.stdout.write(`${await safetyNumber({ institution: statement.institution, member: statement.reviewer, keys: statement })}\n`);
  process.stderr.write(`key registration of member '${statement.reviewer}' in institution '${statement.institution}': compare every group with the number on the member's own screen\n`);
}

/** Registers `custody safety-number` on the `custody` command. */
export function registerCustodySafetyNumber(custody: Command): void {
  custody
    .command('safety-number')
    .summary('print the safety number of a member\'s key registration')
    .description('Verify a member\'s self-signed key registration and print its safety number (8 groups of 5 digits) to stdout: '
      + 'the number an admin compares with the one the member reads out from their own screen before approving.')
    .argument('<registration>', 'a file holding the signed "registration": a member key file, or the member\'s entry of GET /v1/custody/reviewers')
    .option('--institution <id>', 'refuse a registration for any other institution', contextField('institution'))
    .addHelpText('after', `
Example:
  $ examvault custody safety-number --institution inst-7f3a rev-1.registration.json`)
    .action((path: string, options: SafetyNumberOptions) => show(path, options));
}
