/**
 * `examvault open`: decrypts a sealed recording with an epoch private key file.
 *
 * No plaintext that has not been proven complete and authentic is ever left behind (docs/SPEC.md §8):
 * - with -o, segments stream to a temporary file in the output's directory, which is renamed into place
 *   only after the final segment has verified, and deleted on any failure: no output file at all;
 * - to stdout, the whole recording is verified in memory first and written only then, since bytes sent
 *   down a pipe cannot be taken back. That costs memory equal to the plaintext: use -o for large files;
 * - with --segment N, that one segment is authenticated before its bytes are released. It proves
 *   nothing about the rest of the file (random access, SPEC §6.1).
 */
import type { Command } from 'commander';
import { type Header, createOpenStream, locateRecords, openRecording } from '../../crypto/index.js';
import { assertAbsent, writeAtomically } from '../atomic-file.js';
import { CliError } from '../errors.js';
import { chunksOf, openInput, readInput, writeStdout } from '../io.js';
import { loadPrivateKey } from '../keys.js';
import { parseSegmentIndex } from '../parse.js';
import { PASSPHRASE_ENV } from '../passphrase.js';

interface OpenOptions {
  readonly key: string;
  readonly passphraseFile?: string;
  readonly segment?: number;
  readonly out?: string;
  readonly force?: boolean;
}

const inputRole = { name: 'recording', missingHint: 'check the path of the sealed recording' };

/** Output for the whole recording: the verified plaintext, or nothing. */
async function openWhole(input: string, privateKey: CryptoKey, options: OpenOptions): Promise<void> {
  const source = await openInput(input, inputRole);
  const plaintext = source.pipeThrough(createOpenStream((header: Header) => openRecording(header, privateKey)));
  if (options.out !== undefined) {
    await writeAtomically(options.out, { overwrite: options.force ?? false }, (file) => plaintext.pipeTo(file.writable()));
    return;
  }
  const verified: Uint8Array[] = [];
  for await (const chunk of chunksOf(plaintext)) verified.push(chunk);
  await writeStdout(verified);
}

/** Output for one segment, found by walking the record lengths (SPEC §7) without decrypting the rest. */
async function openOneSegment(input: string, index: number, privateKey: CryptoKey, options: OpenOptions): Promise<void> {
  const file = await readInput(input, inputRole);
  const { header, records } = locateRecords(file);
  const record = records[index];
  if (!record) {
    throw new CliError('EV_ERR_CLI_SEGMENT_NOT_FOUND', `there is no segment ${index}: the file holds ${records.length} (numbered from 0)`,
      records.length === 0 ? 'the file holds no segment at all: it was cut short after the header; fetch it again'
        : `pass --segment 0..${records.length - 1}; \`examvault inspect\` shows the count`);
  }
  const opener = await openRecording(header, privateKey);
  // The last flag is not passed: the reader tries both and authenticates whichever holds (SPEC §6.1).
  const { plaintext } = await opener.openSegment(index, file.subarray(record.offset, record.offset + record.length));
  if (options.out !== undefined) {
    await writeAtomically(options.out, { overwrite: options.force ?? false }, (out) => out.write(plaintext));
  } else {
    await writeStdout([plaintext]);
  }
}

async function openCommand(input: string, options: OpenOptions): Promise<void> {
  // Before the passphrase is asked for: finding out afterwards would waste the user's typing.
  if (options.out !== undefined && !options.force) await assertAbsent(options.out);
  const { privateKey } = await loadPrivateKey(options.key, options.passphraseFile);
  if (options.segment !== undefined) await openOneSegment(input, options.segment, privateKey, options);
  else await openWhole(input, privateKey, options);
}

/** Registers `open` on the program. */
export function registerOpen(program: Command): void {
  program
    .command('open')
    .summary('decrypt a sealed recording')
    .description('Decrypt a sealed recording with an epoch private key file. Nothing unverified is ever written: '
      + 'with -o the file appears only once the final segment has verified (and is deleted on any failure); to stdout '
      + 'the whole recording is verified in memory first and written only then, so stdout needs memory the size of '
      + 'the plaintext: prefer -o for large recordings.')
    .argument('<input>', 'the sealed recording, or - for stdin')
    .requiredOption('--key <file>', 'the epoch private key file written by keygen --out')
    .option('--passphrase-file <file>', `read the key file passphrase from this file (default: $${PASSPHRASE_ENV}, else ask on the terminal)`)
    .option('--segment <n>', 'output only segment n (from 0), authenticated on its own; reads the whole file into memory', parseSegmentIndex)
    .option('-o, --out <file>', 'write the plaintext here, atomically (default: stdout, after verifying everything)')
    .option('--force', 'replace the -o file if it exists')
    .addHelpText('after', `
Examples:
  $ examvault open --key epoch-1.key -o camera.webm camera.evs
  $ examvault open --key epoch-1.key --segment 3 camera.evs > part-3.webm`)
    .action((input: string, options: OpenOptions) => openCommand(input, options));
}
