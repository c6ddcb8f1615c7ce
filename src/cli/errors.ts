/**
 * How the `examvault` command fails: every failure is one `error:` line naming a stable code and one
 * `hint:` line saying what to do about it, on stderr (docs/cli.md). Exit status 1 for a failure at run
 * time, 2 for a usage error (bad or missing flags), 130 when the user interrupts a prompt.
 *
 * Crypto errors keep their own codes (docs/errors.md); the CLI adds a hint for each. Where the CLI knows
 * more than the crypto core (it knows whether it was unlocking a key file or opening a segment), the
 * command wraps the error in a CliError that keeps the crypto code and carries the precise hint.
 */
import { CommanderError } from 'commander';
import { type CryptoErrorCode, ExamVaultCryptoError } from '../crypto/index.js';

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
  'EV_ERR_CLI_INTERNAL',
] as const;

export type CliErrorCode = (typeof cliErrorCodes)[number];

/** Exit status of a failure at run time. */
export const EXIT_FAILURE = 1;
/** Exit status of a bad command line, as is usual for Unix tools. */
export const EXIT_USAGE = 2;
/** Exit status after Ctrl-C: 128 + SIGINT, what a shell reports for a process killed by it. */
export const EXIT_INTERRUPTED = 130;

/** A failure with a stable code, a message, and the fix to suggest. */
export class CliError extends Error {
  readonly code: CliErrorCode | CryptoErrorCode;
  readonly hint: string;
  readonly exitCode: number;

  constructor(code: CliErrorCode | CryptoErrorCode, message: string, hint: string, exitCode = EXIT_FAILURE) {
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
};

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
    // No command given: commander has printed the help already.
    writeErr('error: no command given (EV_ERR_CLI_USAGE)\nhint: run `examvault <command> --help` for one command\'s usage\n');
    return EXIT_USAGE;
  }
  const err = asCliError(e, command);
  // One line each: a message never spans lines, so scripts can grep for the prefixes.
  const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ');
  writeErr(`error: ${oneLine(err.message)} (${err.code})\nhint: ${oneLine(err.hint)}\n`);
  return err.exitCode;
}
