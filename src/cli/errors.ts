/**
 * How the `examvault` command fails: every failure is one `error:` line naming a stable code and one
 * `hint:` line saying what to do about it, on stderr (docs/cli.md). Exit status 1 for a failure at run
 * time, 2 for a usage error (bad or missing flags), 130 when the user interrupts a prompt.
 *
 * Crypto errors keep their own codes (docs/errors.md); the CLI adds a hint for each. Where the CLI knows
 * more than the crypto core (it knows whether it was unlocking a key file or opening a segment), the
 * command wraps the error in a CliError that keeps the crypto code and carries the precise hint.
 *
 * The operator commands (operator/) also meet the server's errors: the HTTP API's ApiError, the
 * server configuration's ConfigError, the storage layer's StorageError. They keep their codes too.
 * ApiError is shared protocol and mapped here; the server's own classes cannot be imported here (lint
 * keeps src/cli, operator/ aside, off src/server), so any error carrying an `EV_ERR_*` code passes
 * through with its code and its own `hint` when it has one, and operator/errors.ts adds the precise
 * hints for the storage codes. Nothing with a stable code ends up as EV_ERR_CLI_INTERNAL.
 */
import { CommanderError } from 'commander';
import { type CryptoErrorCode, ExamVaultCryptoError } from '../crypto/index.js';
import { ApiError, type ApiErrorCode } from '../protocol/errors.js';

/** Stable codes of failures that belong to the CLI itself. Each is documented in docs/errors.md. */
export const cliErrorCodes = [
  'EV_ERR_CLI_USAGE',
  'EV_ERR_CLI_FILE_NOT_FOUND',
  'EV_ERR_CLI_FILE_EXISTS',
  'EV_ERR_CLI_IO',
  'EV_ERR_CLI_NOT_JSON',
  'EV_ERR_CLI_NO_PASSPHRASE',
  'EV_ERR_CLI_EMPTY_PASSPHRASE',
  'EV_ERR_CLI_PASSPHRASE_MISMATCH',
  'EV_ERR_CLI_SEGMENT_NOT_FOUND',
  'EV_ERR_CLI_TERMINAL_OUTPUT',
  'EV_ERR_CLI_INTERRUPTED',
  'EV_ERR_CLI_REGION_NOT_SERVED',
  'EV_ERR_CLI_NO_DATA',
  'EV_ERR_CLI_REWRAP_FAILED',
  'EV_ERR_CLI_WEAK_PASSPHRASE',
  'EV_ERR_CLI_WRONG_ROLE',
  'EV_ERR_CLI_NO_GRANT',
  'EV_ERR_CLI_INTERNAL',
] as const;

export type CliErrorCode = (typeof cliErrorCodes)[number];

/**
 * A stable code raised below the CLI and passed through unchanged: the API's, the server
 * configuration's, the storage layer's (each documented in docs/errors.md, where a test checks it).
 */
export type ForeignErrorCode = ApiErrorCode | `EV_ERR_${string}`;

/** Exit status of a failure at run time. */
export const EXIT_FAILURE = 1;
/** Exit status of a bad command line, as is usual for Unix tools. */
export const EXIT_USAGE = 2;
/** Exit status after Ctrl-C: 128 + SIGINT, what a shell reports for a process killed by it. */
export const EXIT_INTERRUPTED = 130;

/** A failure with a stable code, a message, and the fix to suggest. */
export class CliError extends Error {
  readonly code: CliErrorCode | CryptoErrorCode | ForeignErrorCode;
  readonly hint: string;
  readonly exitCode: number;

  constructor(code: CliErrorCode | CryptoErrorCode | ForeignErrorCode, message: string, hint: string, exitCode = EXIT_FAILURE) {
    super(message);
    this.name = 'CliError';
    this.code = code;
    this.hint = hint;
    this.exitCode = exitCode;
  }
}

/** A bad flag or argument: exit status 2, and a hint pointing at the command's help. */
export function usageError(message: string, hint: string): CliError {
  return new CliError('EV_ERR_CLI_USAGE', message, hint, EXIT_USAGE);
}

/**
 * The hint for each crypto code when nothing more specific is known. A test checks that every code of
 * the crypto core has one, so a new code cannot reach a user without advice.
 */
export const cryptoErrorHints: Readonly<Record<CryptoErrorCode, string>> = {
  EV_ERR_CRYPTO_DECRYPTION_FAILED: 'the key does not match this recording, or the file was modified',
  EV_ERR_CRYPTO_INVALID_KEY: 'the key in the key file is not a valid P-256 key; the file was damaged or edited: use the file `examvault keygen` wrote',
  EV_ERR_CRYPTO_INVALID_CONTEXT:
    'ids (--institution, --exam, --attempt, --recording) are 1-64 characters of [A-Za-z0-9._:-]; --region is 2-16 characters of [a-z0-9-]',
  EV_ERR_CRYPTO_INVALID_ARGUMENT: 'a value is out of range; run the command with --help to see the allowed values',
  EV_ERR_CRYPTO_SEGMENT_LIMIT: 'a recording holds at most 2^32 segments: seal it with a larger --segment-size',
  EV_ERR_FORMAT_TRUNCATED: 'the file is incomplete (an interrupted download or copy): fetch the recording again',
  EV_ERR_FORMAT_BAD_MAGIC: 'this is not an ExamVault sealed recording: pass the file `examvault seal` wrote',
  EV_ERR_FORMAT_UNSUPPORTED_VERSION: 'the recording was sealed in a newer format: upgrade examvault',
  EV_ERR_FORMAT_UNSUPPORTED_SUITE: 'the recording uses a cipher suite this version does not know: upgrade examvault',
  EV_ERR_FORMAT_MALFORMED_HEADER: 'the header is damaged: the file was modified or is not a sealed recording',
  EV_ERR_FORMAT_SEGMENT_SIZE: 'a record has an impossible length: the file was modified or damaged',
  EV_ERR_FORMAT_EMPTY_SEGMENT: 'a segment before the last one is empty: the file was modified',
  EV_ERR_FORMAT_TRAILING_DATA: 'bytes follow the final segment: the file was modified, or two files were joined',
  EV_ERR_FORMAT_NO_FINAL_SEGMENT:
    'the recording ends before its final segment: it was cut short (an interrupted upload or copy); fetch it again',
  EV_ERR_KEYFILE_MALFORMED: 'pass the key file `examvault keygen` wrote (the private key to --key, the .pub file to --recipient)',
  EV_ERR_KEYFILE_WEAK_KDF:
    'ExamVault requires 600000-10000000 PBKDF2 iterations and a 16-byte salt: a file asking for less was not written by `examvault keygen` or was altered; do not use it',
  // Key custody (docs/KEY-CUSTODY.md): raised by staff clients; listed so that every code has advice.
  EV_ERR_CUSTODY_MALFORMED: 'the wrapped key or grant is not of the documented shape (docs/KEY-CUSTODY.md): it was damaged or altered',
  EV_ERR_CUSTODY_WEAK_KDF: 'the wrapped key asks for PBKDF2 parameters outside 600000-10000000 iterations or a 16-64-byte salt: it was altered; do not use it',
  EV_ERR_CUSTODY_BINDING_MISMATCH: 'the server returned a key, grant or registration for someone or something else: report it, it may be a substitution',
  EV_ERR_CUSTODY_NO_WRAPPING: 'this key cannot be unlocked that way: use the passphrase or the passkey it was protected with',
  EV_ERR_CUSTODY_STATEMENT_MALFORMED: 'a log statement is damaged or not in canonical form: report it, the log may have been altered',
  EV_ERR_CUSTODY_STATEMENT_UNSUPPORTED: 'a log statement uses a newer version or type: upgrade examvault',
  EV_ERR_CUSTODY_STATEMENT_WRONG_TYPE: 'the server returned another kind of statement than the one asked for: report it',
  EV_ERR_CUSTODY_SIGNATURE_INVALID: 'a log statement does not verify: it was altered or substituted; report it',
  EV_ERR_CUSTODY_UNKNOWN_SIGNER: 'a log statement is signed by someone this client does not trust: report it',
  EV_ERR_CUSTODY_SAFETY_NUMBER_MISMATCH: 'the safety numbers differ: do not approve; the keys may have been substituted, ask the reviewer to register again',
  EV_ERR_CUSTODY_RECOVERY_KEY_INVALID: 'a recovery key is 56 characters of A-Z and 2-7 (dashes optional): check what was typed',
  EV_ERR_CUSTODY_RECOVERY_KEY_CHECKSUM: 'the recovery key has a typo: compare it character by character with the printed copy',
  EV_ERR_CASE_MALFORMED: 'the case bundle is damaged or was not made by an ExamVault client (docs/SPEC.md §12): export the case again',
  // Review records (docs/SPEC.md §13): raised by reviewers' clients; listed so that every code has advice.
  EV_ERR_REVIEW_MALFORMED: 'the review record is damaged or was not made by an ExamVault client (docs/SPEC.md §13): report it',
  EV_ERR_REVIEW_BINDING_MISMATCH: 'the server returned a review of another attempt or institution: report it, it may be a substitution',
  EV_ERR_REVIEW_OUT_OF_ORDER: 'the server returned review revisions out of order, with one missing, or older than one already seen: report it',
  EV_ERR_REVIEW_NO_EPOCH_KEY: 'this review is sealed to an epoch you hold no grant for: ask an admin to grant it',
};

/**
 * The hint for each API code when the command has nothing more specific (an operator command that
 * knows which flag a BAD_REQUEST or NOT_FOUND is about says so itself). A test checks every code has one.
 */
export const apiErrorHints: Readonly<Record<ApiErrorCode, string>> = {
  EV_ERR_API_BAD_REQUEST: 'a value was refused (the message says which and why): correct it and run the command again',
  EV_ERR_API_UNAUTHENTICATED: 'the attempt credential is missing, unknown or expired: issue a new one with `examvault attempts issue`',
  EV_ERR_API_FORBIDDEN: 'the credential is valid but does not allow this action: use one issued for this institution, exam and attempt',
  EV_ERR_API_TLS_REQUIRED: 'reach the server through its TLS-terminating proxy over https:// (docs/DEPLOYMENT.md)',
  EV_ERR_API_NOT_FOUND: 'check the id, and that --config or EXAMVAULT_DATA_DIR names the data directory that holds it',
  EV_ERR_API_METHOD_NOT_ALLOWED: 'this action is not allowed on that resource',
  EV_ERR_API_CONFLICT: 'it contradicts what is already stored (write-once data): check the ids, or leave it as it is',
  EV_ERR_API_PAYLOAD_TOO_LARGE: 'the data is larger than the server accepts (docs/errors.md lists the limits)',
  EV_ERR_API_UNSUPPORTED_MEDIA_TYPE: 'send JSON or application/octet-stream',
  EV_ERR_API_INTERNAL: 'a failure inside the server code: please report it with the command you ran',
};

/** The hint for a passed-through code that brought no hint of its own. */
function foreignHint(code: string): string {
  return `docs/errors.md says what ${code} means and how to fix it`;
}

/**
 * An error of a lower layer with a stable `EV_ERR_*` code (ConfigError, StorageError, the database's
 * MigrationError...), kept with its code and its own `hint` when it carries one.
 */
function passThrough(e: unknown): CliError | null {
  if (!(e instanceof Error)) return null;
  const { code, hint } = e as Error & { code?: unknown; hint?: unknown };
  if (typeof code !== 'string' || !/^EV_ERR_[A-Z0-9_]+$/.test(code)) return null;
  return new CliError(code as ForeignErrorCode, e.message, typeof hint === 'string' && hint !== '' ? hint : foreignHint(code));
}

/** Node's file system error codes that deserve their own wording. */
function systemError(e: NodeJS.ErrnoException): CliError | null {
  const path = e.path ? ` '${e.path}'` : '';
  switch (e.code) {
    case 'ENOENT':
      return new CliError('EV_ERR_CLI_FILE_NOT_FOUND', `no such file or directory${path}`, 'check the path');
    case 'EACCES':
    case 'EPERM':
      return new CliError('EV_ERR_CLI_IO', `permission denied${path}`, 'check the permissions of the file and its directory');
    case 'EISDIR':
      return new CliError('EV_ERR_CLI_IO', `${path.trim() || 'the path'} is a directory`, 'pass a file, not a directory');
    case 'ENOSPC':
    case 'EDQUOT':
      return new CliError('EV_ERR_CLI_IO', `no space left on the device${path}`, 'free some space, or write the output elsewhere with -o');
    case 'EPIPE':
      return new CliError('EV_ERR_CLI_IO', 'the output was closed before everything was written (broken pipe)',
        'the program reading examvault\'s output exited early; write to a file with -o instead');
    case 'ERR_FS_FILE_TOO_LARGE':
      return new CliError('EV_ERR_CLI_IO', 'the file is too large to read into memory (over 2 GiB)',
        '`inspect` and `open --segment` read the whole file; open the whole recording with `open -o <file>` instead');
    default:
      return null;
  }
}

function asCliError(e: unknown, command: string | undefined): CliError {
  if (e instanceof CliError) return e;
  if (e instanceof ExamVaultCryptoError) return new CliError(e.code, e.message, cryptoErrorHints[e.code]);
  if (e instanceof CommanderError) {
    const help = command ? `examvault ${command} --help` : 'examvault --help';
    // Commander's messages already start with "error: "; the handler adds its own.
    const message = e.message.replace(/^error:\s*/, '');
    const hint = e.code === 'commander.unknownCommand' ? 'run `examvault --help` to list the commands' : `run \`${help}\` to see the usage`;
    return new CliError('EV_ERR_CLI_USAGE', message, hint, EXIT_USAGE);
  }
  if (e instanceof ApiError) return new CliError(e.code as ForeignErrorCode, e.message, apiErrorHints[e.code as ApiErrorCode] ?? foreignHint(e.code));
  const foreign = passThrough(e);
  if (foreign) return foreign;
  const sys = e instanceof Error ? systemError(e as NodeJS.ErrnoException) : null;
  if (sys) return sys;
  const detail = e instanceof Error ? e.message : String(e);
  return new CliError('EV_ERR_CLI_INTERNAL', `unexpected failure: ${detail}`,
    'this is a bug in examvault: please report it with the command you ran (without your passphrase)');
}

/**
 * Writes the `error:` and `hint:` lines for any thrown value and returns the exit status. Commander's
 * own exits (help, version) pass through with their status and print nothing more.
 */
export function reportError(e: unknown, command: string | undefined, writeErr: (s: string) => void): number {
  if (e instanceof CommanderError && (e.code === 'commander.helpDisplayed' || e.code === 'commander.version')) return e.exitCode;
  if (e instanceof CommanderError && e.code === 'commander.help') {
    // No command given (or a command group without its subcommand): commander has printed the help already.
    const hint = command ? `run \`examvault ${command} --help\` to list its commands` : 'run `examvault <command> --help` for one command\'s usage';
    writeErr(`error: no command given (EV_ERR_CLI_USAGE)\nhint: ${hint}\n`);
    return EXIT_USAGE;
  }
  const err = asCliError(e, command);
  // One line each: a message never spans lines, so scripts can grep for the prefixes.
  const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ');
  writeErr(`error: ${oneLine(err.message)} (${err.code})\nhint: ${oneLine(err.hint)}\n`);
  return err.exitCode;
}
