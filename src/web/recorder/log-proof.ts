/**
 * Are the statements the recorder relies on in the institution's audit log? (docs/WEB.md "Checked
 * against the audit log".) epoch-trust.ts proves that the served epoch key follows from the served
 * chain of signed statements; this module proves that every one of those statements was recorded in
 * the cell's append-only log (docs/AUDIT-LOG.md), so a server cannot show one recorder a chain that
 * the institution's admins and monitors, reading the same log, never see.
 *
 * The log's verifier key is pinned per institution in this browser: handed over by a sign-in page, else
 * pinned earlier, else (first use) taken from GET /v1/audit/checkpoint, like the recovery-key root.
 * The latest checkpoint is opened under that key; if this browser pinned an earlier checkpoint of the
 * same log, the new one must extend it (consistency proof: a smaller tree is a rollback, another root
 * a fork). Then each statement is looked for at the seq the epoch answer gives for it, with an
 * inclusion proof against that same checkpoint, and its exact bytes must be a value of that
 * `custody.*` entry of the attempt's institution. The seq is only a place to look: an entry that does
 * not hold the statement fails, whatever the server claims.
 *
 * Pure: the log is read through `LogReader`, so the same code runs against a real server in the
 * page and against a real AuditLog in Node tests. Network failures are thrown as they come (the
 * caller says "no connection"); every proof failure is a result with a stable code.
 */
import {
  type Checkpoint,
  type LogVerifierKey,
  isAuditLogError,
  openCheckpoint,
  parseVerifierKey,
  verifyCheckpointExtension,
  verifyEntryPage,
} from '../../crypto/merkle/index.js';
import type { CheckpointResponse, ConsistencyResponse, EntriesResponse } from '../../protocol/audit.js';
import type { EpochResponse } from '../../protocol/custody.js';

/** How the recorder reads the log (GET /v1/audit/checkpoint, /entries, /consistency). */
export interface LogReader {
  checkpoint(): Promise<CheckpointResponse>;
  /** The caller's entries from `from` on, against the stored checkpoint of `size`, one entry is enough. */
  entries(from: number, size: number): Promise<EntriesResponse>;
  consistency(from: number, to: number): Promise<ConsistencyResponse>;
}

/** What this browser keeps of an institution's log between visits (IndexedDB store `logs`, keyed by institution). */
export interface LogPin {
  /** The verifier key line (docs/AUDIT-LOG.md "The verifier key"). */
  readonly logKey: string;
  /** The latest checkpoint (signed note) this browser verified. */
  readonly checkpoint: string;
}

export type LogCheckCode =
  /** The served checkpoint is not signed by the pinned key (or is not a checkpoint). */
  | 'EV_ERR_RECORDER_LOG_CHECKPOINT'
  /** The checkpoint does not extend the one this browser pinned: the log was rolled back or forked. */
  | 'EV_ERR_RECORDER_LOG_FORKED'
  /** A statement is not in the entry named for it, or that entry is not a custody entry of the institution. */
  | 'EV_ERR_RECORDER_STATEMENT_NOT_LOGGED'
  /** An entry or its inclusion proof does not lead to the checkpoint's root. */
  | 'EV_ERR_RECORDER_LOG_PROOF'
  /** A sign-in page named another log key than this browser pinned for that log. */
  | 'EV_ERR_RECORDER_LOG_KEY_MISMATCH';

export type LogCheck =
  | { readonly ok: true; readonly pin: LogPin; readonly origin: string; readonly size: number }
  | { readonly ok: false; readonly code: LogCheckCode; readonly reason: string };

export interface LogCheckParams {
  readonly served: Pick<EpochResponse, 'institution' | 'statements' | 'auditSeqs'>;
  readonly reader: LogReader;
  /**
   * What this browser pinned for the institution's log. Kept per institution, not per log name: a
   * server serving a log of another name under another key must not start over from first use.
   */
  readonly pinned?: LogPin;
  /** A verifier key line handed over by a sign-in page, trusted over anything the server serves. */
  readonly trustedLogKey?: string;
}

const fail = (code: LogCheckCode, reason: string): LogCheck => ({ ok: false, code, reason });

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Which verifier key to check with: handed over, pinned, or (first use) the one served. */
async function chooseKey(served: CheckpointResponse, pin: LogPin | undefined, handed: string | undefined): Promise<LogVerifierKey | LogCheck> {
  if (handed !== undefined && pin !== undefined && handed !== pin.logKey) {
    return fail('EV_ERR_RECORDER_LOG_KEY_MISMATCH', 'the sign-in page named another audit log key than the one this browser pinned');
  }
  try {
    return await parseVerifierKey(handed ?? pin?.logKey ?? served.logKey);
  } catch (e) {
    return fail('EV_ERR_RECORDER_LOG_CHECKPOINT', `the audit log key is not valid (${describe(e)})`);
  }
}

/** The checkpoint this visit relies on, opened under the key and proven to extend the pinned one. */
async function freshCheckpoint(served: CheckpointResponse, key: LogVerifierKey, pin: LogPin | undefined, reader: LogReader): Promise<Checkpoint | LogCheck> {
  let checkpoint: Checkpoint;
  try {
    checkpoint = await openCheckpoint(served.checkpoint, key);
  } catch (e) {
    return fail('EV_ERR_RECORDER_LOG_CHECKPOINT', `the audit log's checkpoint does not verify under its key (${describe(e)})`);
  }
  if (!pin) return checkpoint;
  let earlier: Checkpoint;
  try {
    earlier = await openCheckpoint(pin.checkpoint, key);
  } catch (e) {
    return fail('EV_ERR_RECORDER_LOG_CHECKPOINT', `the checkpoint this browser pinned does not verify (${describe(e)})`);
  }
  if (earlier.size > checkpoint.size) {
    return fail('EV_ERR_RECORDER_LOG_FORKED', `the audit log has ${checkpoint.size} entries, but this browser saw it with ${earlier.size}: it was rolled back`);
  }
  const proof = earlier.size === checkpoint.size ? { proof: [] } : await reader.consistency(earlier.size, checkpoint.size);
  try {
    await verifyCheckpointExtension(pin.checkpoint, served.checkpoint, proof.proof, key);
  } catch (e) {
    if (isAuditLogError(e, 'EV_ERR_AUDIT_INCONSISTENT')) return fail('EV_ERR_RECORDER_LOG_FORKED', `the audit log is not an extension of the one this browser saw: ${describe(e)}`);
    return fail('EV_ERR_RECORDER_LOG_PROOF', `the consistency proof is malformed (${describe(e)})`);
  }
  return checkpoint;
}

function holds(payload: { readonly [key: string]: unknown }, statement: string): boolean {
  return Object.values(payload).some((v) => v === statement);
}

/**
 * Checks every served statement against the log. On success, `pin` is what to keep for the
 * institution's log: the key and the checkpoint now verified, which the next visit must extend.
 */
export async function checkStatementsInLog(params: LogCheckParams): Promise<LogCheck> {
  const { served, reader } = params;
  if (!Array.isArray(served.auditSeqs) || served.auditSeqs.length !== served.statements.length) {
    return fail('EV_ERR_RECORDER_STATEMENT_NOT_LOGGED', 'the server did not say where in the audit log each statement is');
  }
  const latest = await reader.checkpoint();
  const pin = params.pinned;
  const key = await chooseKey(latest, pin, params.trustedLogKey);
  if ('ok' in key) return key;
  const checkpoint = await freshCheckpoint(latest, key, pin, reader);
  if ('ok' in checkpoint) return checkpoint;

  // Set-up logs three statements in one entry: each entry is fetched and proven once.
  const wanted = new Map<number, string[]>();
  for (const [i, statement] of served.statements.entries()) {
    const seq = served.auditSeqs[i] as number;
    if (!Number.isSafeInteger(seq) || seq < 0 || seq >= checkpoint.size) {
      return fail('EV_ERR_RECORDER_STATEMENT_NOT_LOGGED', `statement ${i + 1} is said to be at entry ${seq}, which is not in the signed log of ${checkpoint.size} entries`);
    }
    wanted.set(seq, [...(wanted.get(seq) ?? []), statement]);
  }
  for (const [seq, statements] of wanted) {
    const page = await reader.entries(seq, checkpoint.size);
    if (page.checkpoint !== latest.checkpoint) {
      return fail('EV_ERR_RECORDER_LOG_PROOF', `entry ${seq} was proven against another checkpoint than the one just verified`);
    }
    let entries;
    try {
      ({ entries } = await verifyEntryPage(page, key));
    } catch (e) {
      return fail('EV_ERR_RECORDER_LOG_PROOF', `entry ${seq} does not verify against the signed checkpoint (${describe(e)})`);
    }
    const entry = entries.find((e) => e.seq === seq);
    if (!entry || entry.institution !== served.institution || !entry.type.startsWith('custody.')) {
      return fail('EV_ERR_RECORDER_STATEMENT_NOT_LOGGED', `the audit log has no custody entry ${seq} of this institution`);
    }
    const missing = statements.findIndex((s) => !holds(entry.payload, s));
    if (missing >= 0) return fail('EV_ERR_RECORDER_STATEMENT_NOT_LOGGED', `a statement the epoch key relies on is not in audit log entry ${seq}`);
  }
  return { ok: true, pin: { logKey: key.text, checkpoint: latest.checkpoint }, origin: checkpoint.origin, size: checkpoint.size };
}
