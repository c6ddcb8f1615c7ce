/**
 * Where a key file's passphrase comes from, in this order:
 *
 * 1. `--passphrase-file <file>`: the file's contents minus one trailing newline;
 * 2. the environment variable `EXAMVAULT_PASSPHRASE`, when set and not empty;
 * 3. a prompt on the terminal, without echo (asked twice when creating a key), when stdin is a TTY.
 *
 * Never from a command-line flag: arguments are visible to every user of the machine (ps, /proc).
 * With none of these (a script, a pipe) the command fails instead of hanging on a prompt.
 */
import { passphraseLength } from '../crypto/index.js';
import { CliError, EXIT_INTERRUPTED } from './errors.js';
import { readInput } from './io.js';

/** The environment variable a passphrase may come from. */
export const PASSPHRASE_ENV = 'EXAMVAULT_PASSPHRASE';

export interface PassphraseOptions {
  readonly passphraseFile?: string | undefined;
  /** Ask twice on a terminal and require both to match (for a new key). */
  readonly confirm?: boolean;
  /** What the passphrase unlocks, for the prompt: "the key file 'k'". */
  readonly what: string;
  /** For a new key: the fewest characters (Unicode code points, after NFC) a passphrase may have. */
  readonly minLength?: number;
}

const noPassphraseHint = `pass --passphrase-file <file> or set ${PASSPHRASE_ENV}, or run examvault in a terminal to be asked`;

/** Reads a passphrase from the first source available. */
export async function readPassphrase(options: PassphraseOptions): Promise<string> {
  let passphrase: string;
  if (options.passphraseFile !== undefined) {
    const text = new TextDecoder().decode(
      await readInput(options.passphraseFile, { name: 'passphrase file', missingHint: 'check the path given to --passphrase-file' }),
    );
    // Editors and `echo` end a file with a newline that is not part of the passphrase.
    passphrase = text.replace(/\r?\n$/, '');
  } else if (process.env[PASSPHRASE_ENV]) {
    passphrase = process.env[PASSPHRASE_ENV];
  } else if (process.stdin.isTTY) {
    passphrase = await promptHidden(`Passphrase for ${options.what}: `);
    if (options.confirm && passphrase !== '') {
      const again = await promptHidden('Repeat the passphrase: ');
      if (again !== passphrase) {
        throw new CliError('EV_ERR_CLI_PASSPHRASE_MISMATCH', 'the two passphrases differ', 'run the command again and type the same passphrase twice');
      }
    }
  } else {
    throw new CliError('EV_ERR_CLI_NO_PASSPHRASE', `no passphrase for ${options.what}, and no terminal to ask for one`, noPassphraseHint);
  }
  if (passphrase === '') {
    throw new CliError('EV_ERR_CLI_EMPTY_PASSPHRASE', 'the passphrase is empty', 'use a long passphrase: it is all that protects the private key if the file is copied');
  }
  const length = passphraseLength(passphrase);
  if (options.minLength !== undefined && length < options.minLength) {
    throw new CliError('EV_ERR_CLI_WEAK_PASSPHRASE', `the passphrase has ${length} characters; this key needs at least ${options.minLength}`,
      'use a passphrase of several unrelated words: the wrapped key is stored on the server, where it can be attacked offline');
  }
  return passphrase;
}

function interrupted(): CliError {
  return new CliError('EV_ERR_CLI_INTERRUPTED', 'interrupted at the passphrase prompt', 'run the command again when ready', EXIT_INTERRUPTED);
}

/**
 * Reads one line from the terminal in raw mode, so the passphrase is not echoed. The prompt goes to
 * stderr: stdout may be a pipe carrying the command's output.
 */
function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (error?: CliError) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (data: string) => {
      for (const ch of data) {
        if (ch === '\r' || ch === '\n') return finish();
        // Raw mode turns Ctrl-C into a byte instead of a signal.
        if (ch === '\u0003') return finish(interrupted());
        if (ch === '\u0004') return value === '' ? finish(interrupted()) : finish();
        if (ch === '\u007f' || ch === '\b') value = Array.from(value).slice(0, -1).join('');
        else if (ch === '\u0015') value = '';
        // An escape sequence (arrow keys) arrives as one chunk: drop the rest of it.
        else if (ch === '\u001b') return;
        else if (ch >= ' ') value += ch;
      }
    };
    process.stderr.write(prompt);
    stdin.setEncoding('utf8');
    stdin.setRawMode(true);
    stdin.on('data', onData);
    stdin.resume();
  });
}
