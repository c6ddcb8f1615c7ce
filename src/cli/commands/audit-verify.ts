/**
 * `examvault audit verify`: checks an audit log export offline against the log's pinned verifier key
 * (docs/AUDIT-LOG.md, "What a client must check"). Needs no server and no network: it recomputes
 * the Merkle tree from the entries, verifies every checkpoint's signature, that each checkpoint
 * extends the one before (its consistency proof, and the tree passing through its root), and, with
 * `--since`, that a checkpoint kept from an earlier audit is a state of the same history.
 *
 * Prints the report as JSON (`latest.note` is the checkpoint to keep for the next `--since`), or fails
 * with the verifier's code and a hint saying what the failure means.
 */
import type { Command } from 'commander';
import { type AuditLogErrorCode, isAuditLogError, parseVerifierKey, verifyAuditExport } from '../../crypto/merkle/index.js';
import { CliError } from '../errors.js';
import { readInput, readJsonFile, writeJson } from '../io.js';

const KEEP = 'keep the export as evidence and report it to the log\'s operator';

/** The hint for each code of the verifier. A test checks that every code has one. */
export const auditErrorHints: Readonly<Record<AuditLogErrorCode, string>> = {
  EV_ERR_AUDIT_INVALID_EVENT: 'an entry breaks the entry rules (ids only): the export was not written by an ExamVault log',
  EV_ERR_AUDIT_OUT_OF_RANGE: 'a size or index is outside the log: this is a bug in examvault, please report it with the command you ran',
  EV_ERR_AUDIT_MALFORMED_KEY: 'pass the log\'s verifier key line (<origin>+<key id>+<base64 key>) exactly as the log\'s operator published it',
  EV_ERR_AUDIT_MALFORMED_CHECKPOINT: 'a checkpoint is not a signed note of the documented form: the export was damaged or not made by an ExamVault log; fetch it again',
  EV_ERR_AUDIT_NOT_SIGNED: 'check that --key is the key of this log; if it is, the checkpoints were not signed by it (substituted): ' + KEEP,
  EV_ERR_AUDIT_BAD_SIGNATURE: `a checkpoint was changed after the log signed it: do not trust this export; ${KEEP}`,
  EV_ERR_AUDIT_WRONG_ORIGIN: 'the export (or a checkpoint) is of another log than the key: pass the key of the log that produced it',
  EV_ERR_AUDIT_EXPORT_MALFORMED: 'pass the JSON file the log\'s export wrote, unmodified (docs/AUDIT-LOG.md describes it)',
  EV_ERR_AUDIT_NO_CHECKPOINT: 'the export holds no signed checkpoint, so nothing in it is vouched for: ask the log for a new export',
  EV_ERR_AUDIT_ENTRY_MODIFIED: `an entry was changed after it was logged: ${KEEP}`,
  EV_ERR_AUDIT_ENTRIES_MISSING: 'entries were removed, duplicated or reordered; with --since, an export that starts after your checkpoint cannot be checked against it (export from its size or earlier): ' + KEEP,
  EV_ERR_AUDIT_ROOT_MISMATCH: `the entries do not make the tree the log signed: entries were changed, added or removed; ${KEEP}`,
  EV_ERR_AUDIT_INCONSISTENT: 'the log rewrote its history (a fork or a rollback): the two signed checkpoints prove it; ' + KEEP,
};

interface VerifyOptions {
  readonly log: string;
  readonly key: string;
  readonly since?: string;
}

async function verify(options: VerifyOptions): Promise<void> {
  const exported = await readJsonFile(options.log, { name: 'audit log export', missingHint: 'pass the JSON file the log\'s export wrote' });
  const keyText = new TextDecoder().decode(await readInput(options.key, { name: 'log key', missingHint: 'pass the file holding the log\'s verifier key line' }));
  const since = options.since === undefined
    ? undefined
    : new TextDecoder().decode(await readInput(options.since, { name: 'earlier checkpoint', missingHint: 'pass the file holding the checkpoint note kept from an earlier audit' }));
  try {
    const key = await parseVerifierKey(keyText);
    await writeJson(await verifyAuditExport(exported, key, since === undefined ? {} : { since }));
  } catch (e) {
    if (isAuditLogError(e)) throw new CliError(e.code, e.message, auditErrorHints[e.code]);
    throw e;
  }
}

/** Registers `audit verify` on the program. */
export function registerAudit(program: Command): void {
  const audit = program.command('audit').summary('verify an audit log export offline')
    .description('The tamper-evident audit log (docs/AUDIT-LOG.md).');
  audit
    .command('verify')
    .summary('check an audit log export against the log\'s pinned key')
    .description('Check an audit log export offline: every checkpoint signed by the pinned key, each one an extension of the one '
      + 'before, every entry matching its leaf, no entry missing, and the tree of the entries passing through every signed root. '
      + 'Prints a JSON report; keep "latest.note" to pass to --since next time.')
    .requiredOption('--log <file>', 'the export (JSON), or - for stdin')
    .requiredOption('--key <file>', 'a file holding the log\'s verifier key line, as its operator published it')
    .option('--since <file>', 'a checkpoint note kept from an earlier audit: the export must extend it')
    .addHelpText('after', `
Example:
  $ examvault audit verify --log eu-audit.json --key eu-audit.pub | jq -r .latest.note > eu-audit.checkpoint
  $ examvault audit verify --log eu-audit-next.json --key eu-audit.pub --since eu-audit.checkpoint`)
    .action((options: VerifyOptions) => verify(options));
}
