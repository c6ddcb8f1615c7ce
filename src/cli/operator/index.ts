/**
 * The operator commands: `institutions create`, `attempts issue`, `admins invite`, `platforms register` and
 * `platforms revoke`, `lti platforms` and `lti keys`, `keys rotate`, `keys status` and `audit export`.
 * Unlike every other command they act on a server's data directory, found through the server's own
 * configuration (`--config`, EXAMVAULT_* variables), so they run on the machine that holds it.
 *
 * This module only declares them. Each command's code, and with it the server's modules (SQLite,
 * Kysely, the storage layer), loads when that command runs: `keygen`, `seal` and `open`, which run on
 * reviewers' and test takers' machines, never load the server.
 */
import type { Command } from 'commander';
import { usageError } from '../errors.js';
import { contextField } from '../parse.js';
import { PASSPHRASE_ENV } from '../passphrase.js';
import { parseRegion, parseTtl, regionList } from './parse.js';

const configFlag = ['--config <file>', 'the server\'s configuration file (default: $EXAMVAULT_CONFIG, else ./examvault.config.json; EXAMVAULT_* variables apply as for the server)'] as const;

/**
 * An action that loads its command module on first use and gives the storage layer's failures their
 * hints (operator/errors.ts); everything else reaches errors.ts as it was thrown.
 */
function lazy<O>(load: () => Promise<{ run(options: O): Promise<void> }>): (options: O) => Promise<void> {
  return async (options) => {
    const [command, { withServerHint }] = await Promise.all([load(), import('./errors.js')]);
    try {
      await command.run(options);
    } catch (e) {
      throw withServerHint(e);
    }
  };
}

function registerInstitutions(program: Command): void {
  const institutions = program.command('institutions').summary('set up institutions (on the server\'s machine)')
    .description('Institutions on this server\'s data directory.');
  institutions
    .command('create')
    .summary('create an institution, with its epoch-1 key pair or awaiting its first admin\'s set-up')
    .description('Create an institution pinned to one region. With --key-out, its epoch-1 key pair is generated here and written as `keygen` writes it '
      + '(private key passphrase-protected, mode 0600; public key in "<key-out>.pub"); the server is given the public key only. '
      + 'With --no-epoch-key, no key is made here: the institution awaits set-up, and its first admin\'s browser generates the epoch-1 key pair '
      + '(nothing can be recorded until then). Prints {institution, region, epoch, fingerprint} as JSON (fingerprint null without a key).')
    .requiredOption('--name <name>', 'the institution\'s name, 1-200 printable characters')
    .requiredOption('--region <region>', `where its data lives, for life: ${regionList()}`, parseRegion)
    .option('--key-out <file>', 'where to write the epoch-1 private key file (never replaced); this or --no-epoch-key')
    .option('--no-epoch-key', 'make no epoch key: the first admin\'s console generates it at set-up, so no one here ever holds it')
    .option('--passphrase-file <file>', `read the key file's passphrase from this file (default: $${PASSPHRASE_ENV}, else ask twice on the terminal)`)
    .option(...configFlag)
    .addHelpText('after', `
Examples:
  $ examvault institutions create --name "Example University" --region eu --no-epoch-key
  $ examvault institutions create --name "Example University" --region eu --key-out example-epoch-1.key`)
    .action(lazy(() => import('./institutions-create.js')));
}

function registerAttempts(program: Command): void {
  const attempts = program.command('attempts').summary('issue attempt credentials (on the server\'s machine)')
    .description('Credentials that let one exam attempt upload its recordings.');
  attempts
    .command('issue')
    .summary('issue an attempt\'s upload credential')
    .description('Issue the bearer credential for one attempt of an exam. Prints {token, institution, region, exam, attempt, expiresAt} as JSON. '
      + 'The token is shown this once: the server stores only its hash.')
    .requiredOption('--institution <id>', 'the institution id `institutions create` printed', contextField('institution'))
    .requiredOption('--exam <id>', 'the exam id, 1-64 characters of [A-Za-z0-9._:-]', contextField('exam'))
    .option('--attempt <id>', 'the attempt id (default: a new random one)', contextField('attempt'))
    .option('--ttl <lifetime>', 'how long the credential is valid: seconds, or 90m, 6h, 2d (default: the server\'s attemptCredentialTtlSeconds)', parseTtl)
    .option(...configFlag)
    .addHelpText('after', `
Example:
  $ examvault attempts issue --institution inst-0123456789abcdefghjk --exam chem-101 --ttl 3h`)
    .action(lazy(() => import('./attempts-issue.js')));
}

function registerAdmins(program: Command): void {
  const admins = program.command('admins').summary('invite institution admins (on the server\'s machine)')
    .description('Institution admins sign in with passkeys; the first one is invited by the operator.');
  admins
    .command('invite')
    .summary('print a one-time setup link for a new admin')
    .description('Create a one-time, expiring setup link https://<publicOrigin>/staff/setup#<token> with which a new admin of the institution '
      + 'registers a passkey. Prints {setupUrl, institution, role, expiresAt} as JSON. The link is shown this once: the server stores only its hash.')
    .requiredOption('--institution <id>', 'the institution id `institutions create` printed', contextField('institution'))
    .option('--ttl <lifetime>', 'how long the link is valid: seconds, or 30m, 24h, 3d; 5 minutes to 7 days (default 24h)', parseTtl)
    .option(...configFlag)
    .addHelpText('after', `
Example:
  $ examvault admins invite --institution inst-0123456789abcdefghjk --ttl 24h`)
    .action(lazy(() => import('./admins-invite.js')));
}

function registerPlatforms(program: Command): void {
  const platforms = program.command('platforms').summary('register assessment platforms (on the server\'s machine)')
    .description('Third-party assessment platforms that create exams and per-attempt passcodes with an API key (docs/INTEGRATION.md).');
  platforms
    .command('register')
    .summary('register a platform: its API key and webhook secret, shown once')
    .description('Register an assessment platform of the institution. Prints {platform, institution, name, webhookUrl, createdAt, revokedAt, apiKey, webhookSecret} '
      + 'as JSON. The API key and the webhook secret are shown this once: the server keeps only the key\'s hash.')
    .requiredOption('--institution <id>', 'the institution id `institutions create` printed', contextField('institution'))
    .requiredOption('--name <name>', 'the platform\'s name, 1-100 printable characters')
    .requiredOption('--webhook-url <url>', 'where signed webhooks go: an https URL of the platform')
    .option(...configFlag)
    .addHelpText('after', `
Example:
  $ examvault platforms register --institution inst-0123456789abcdefghjk --name "Example Assessments" --webhook-url https://assess.example.org/examvault/webhooks`)
    .action(lazy(() => import('./platforms.js').then((m) => ({ run: m.register }))));
  platforms
    .command('revoke')
    .summary('revoke a platform: its key, its unredeemed passcodes and its webhooks stop')
    .requiredOption('--institution <id>', 'the platform\'s institution', contextField('institution'))
    .requiredOption('--platform <id>', 'the platform id `platforms register` printed')
    .option(...configFlag)
    .action(lazy(() => import('./platforms.js').then((m) => ({ run: m.revoke }))));
}

function registerKeys(program: Command): void {
  const keys = program.command('keys').summary('rotate a region\'s at-rest keys (on the server\'s machine)')
    .description('The key-encryption keyring of a region cell, which wraps the data keys of everything stored at rest there.');
  keys
    .command('rotate')
    .summary('rotate a region\'s key-encryption key and re-wrap its data keys')
    .description('Make a new keyring version current and re-wrap every at-rest data key of the region\'s cell under it, without rewriting '
      + 'any stored object. Progress goes to stderr; {region, keyId, version, rewrapped, upToDate, failed} to stdout as JSON. '
      + 'Exits 1 if any key record could not be re-wrapped. Run it with the server stopped.')
    .requiredOption('--region <region>', `the region: ${regionList()}`, parseRegion)
    .option(...configFlag)
    .action(lazy(() => import('./keys-rotate.js')));
  keys
    .command('status')
    .summary('list a region\'s keyring versions')
    .description('Print the region keyring\'s versions as JSON: number, creation time, which is current. Never any key material.')
    .requiredOption('--region <region>', `the region: ${regionList()}`, parseRegion)
    .option(...configFlag)
    .action(lazy(() => import('./keys-status.js')));
}

const repeat = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

function registerLti(program: Command): void {
  const lti = program.command('lti').summary('LTI 1.3 platform registrations and tool keys (on the server\'s machine)')
    .description('The LTI 1.3 tool: which LMS platforms may launch ExamVault for an institution, and the keys ExamVault signs with (docs/LTI.md).');
  const platforms = lti.command('platforms').summary('register LMS platforms').description('LTI 1.3 platform registrations of an institution.');
  const command = <O>(name: 'add' | 'list' | 'remove' | 'rotateKeys' | 'keyStatus') =>
    lazy<O>(() => import('./lti.js').then((m) => ({ run: m[name] as (options: O) => Promise<void> })));
  platforms
    .command('add')
    .summary('register a platform (what the LMS admin reads off the LMS)')
    .description('Register an LMS for an institution: its issuer, the client id it gave ExamVault, its deployment ids, and its endpoints. Prints the registration as JSON.')
    .requiredOption('--institution <id>', 'the institution id', contextField('institution'))
    .requiredOption('--issuer <iss>', 'the platform\'s issuer (iss), exactly as its id_tokens carry it')
    .requiredOption('--client-id <id>', 'the client id the platform assigned to ExamVault')
    .requiredOption('--deployment <id>', 'a deployment id (repeat for several)', repeat)
    .requiredOption('--auth-endpoint <url>', 'the platform\'s OIDC authorization endpoint')
    .requiredOption('--token-endpoint <url>', 'the platform\'s OAuth 2 token endpoint')
    .requiredOption('--jwks-url <url>', 'the platform\'s public key set URL')
    .option('--frame-origin <origin>', 'an origin that frames ExamVault, beyond the issuer\'s and the auth endpoint\'s (repeat)', repeat)
    .option('--keep-claim <claim>', 'a person claim to keep (name, email, …; repeat): none by default', repeat)
    .option(...configFlag)
    .action(command('add'));
  platforms
    .command('list')
    .summary('list an institution\'s platforms')
    .description('Print the institution\'s registrations as JSON.')
    .requiredOption('--institution <id>', 'the institution id', contextField('institution'))
    .option(...configFlag)
    .action(command('list'));
  platforms
    .command('remove')
    .summary('remove a registration: its launches are refused from then on')
    .description('Remove one registration of the institution. Prints {removed} as JSON.')
    .requiredOption('--institution <id>', 'the institution id', contextField('institution'))
    .requiredOption('--platform <id>', 'the registration id (ltp-…)')
    .option(...configFlag)
    .action(command('remove'));
  const keys = lti.command('keys').summary('the tool\'s signing keys').description('The RSA keys ExamVault signs LTI messages with, published at /v1/lti/jwks.');
  keys
    .command('rotate')
    .summary('make a new signing key; the old one stays published for 7 days')
    .description('Add a new signing key and retire the current one, which stays in the JWKS for its grace period. Prints the keys (no key material) as JSON.')
    .option(...configFlag)
    .action(command('rotateKeys'));
  keys
    .command('status')
    .summary('list the tool\'s keys')
    .description('Print the keys (kid, creation, retirement, whether published) as JSON. Never any key material.')
    .option(...configFlag)
    .action(command('keyStatus'));
}

function parseCount(value: string): number {
  const n = /^(?:0|[1-9][0-9]{0,15})$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw usageError(`invalid --from '${value}'`, '--from is an entry number, 0 or more');
  return n;
}

/** `audit export` joins `audit verify` (commands/audit-verify.ts) under `audit`, registered before these. */
function registerAuditExport(program: Command): void {
  const audit = program.commands.find((c) => c.name() === 'audit') ?? program.command('audit').description('The tamper-evident audit log (docs/AUDIT-LOG.md).');
  audit
    .command('export')
    .summary('write a region\'s audit log for `audit verify` (on the server\'s machine)')
    .description('Write the audit log of a region cell, from an entry on, with every checkpoint covering it and one signed now, in the format '
      + '`audit verify` checks. With --institution, other institutions\' entries are redacted to their leaf hashes (every root still checks). '
      + 'Prints {region, institution, file, from, entries, redacted, size, logKey} as JSON; publish logKey for auditors to pin.')
    .requiredOption('--region <region>', `the region: ${regionList()}`, parseRegion)
    .option('--institution <id>', 'show only this institution\'s entries (and the cell\'s own)', contextField('institution'))
    .option('--from <seq>', 'the first entry to include (default 0; an auditor\'s --since checkpoint must not be smaller)', parseCount)
    .requiredOption('-o, --out <file>', 'write the export here, atomically')
    .option('--force', 'replace the -o file if it exists')
    .option(...configFlag)
    .addHelpText('after', `
Example:
  $ examvault audit export --region eu --institution inst-0123456789abcdefghjk -o eu-audit.json
  $ examvault audit verify --log eu-audit.json --key eu-audit.pub`)
    .action(lazy(() => import('./audit-export.js')));
}

/** Registers the operator commands on the program. */
export function registerOperatorCommands(program: Command): void {
  registerInstitutions(program);
  registerAttempts(program);
  registerAdmins(program);
  registerPlatforms(program);
  registerKeys(program);
  registerLti(program);
  registerAuditExport(program);
}
