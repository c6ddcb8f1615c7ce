/**
 * `examvault open`: decrypts a sealed recording with an epoch private key file, or with a member's own
 * key and their grant (`--grant`): the grant for the recording's epoch is opened with the member's
 * HPKE key (docs/KEY-CUSTODY.md §6), bound to the member's own id and keys, and the epoch key it holds
 * then opens the recording.
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
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type Header,
  createOpenStream,
  fromBase64Url,
  isCaseBundle,
  isCryptoError,
  locateRecords,
  openCaseBundle,
  openGrant,
  openRecording,
  readPublicKeyFile,
} from '../../crypto/index.js';
import { assertAbsent, writeAtomically, writeDirectoryAtomically } from '../atomic-file.js';
import { grantFor, readGrantFile, readMemberKeyFile, unlockMemberKey } from '../custody-files.js';
import { CliError, usageError } from '../errors.js';
import { chunksOf, openInput, readInput, readJsonFile, writeJson, writeStdout } from '../io.js';
import { loadPrivateKey } from '../keys.js';
import { parseSegmentIndex } from '../parse.js';
import { PASSPHRASE_ENV } from '../passphrase.js';

interface OpenOptions {
  readonly key: string;
  readonly grant?: string;
  readonly epochPublicKey?: string;
  readonly passphraseFile?: string;
  readonly segment?: number;
  readonly out?: string;
  readonly force?: boolean;
}

const inputRole = { name: 'recording', missingHint: 'check the path of the sealed recording' };

/** The epoch private key that opens a recording, found from its header. */
type EpochKeyFor = (header: Header) => Promise<CryptoKey>;

/**
 * With --grant: the member's HPKE key is unlocked first (the passphrase prompt comes before any
 * output), and the grant for the recording's epoch is opened when the header is read. The epoch
 * public key is the one --epoch-public-key pins, else the one the grant names: a grant opens only
 * for the key pair it was sealed to, and the recording's key slot only for its real epoch key.
 */
async function grantKeys(options: OpenOptions & { readonly grant: string }): Promise<EpochKeyFor> {
  const member = await readMemberKeyFile(options.key);
  const grants = await readGrantFile(options.grant);
  const pinned = options.epochPublicKey === undefined ? undefined : await readEpochPublicKey(options.epochPublicKey);
  const hpkeKey = await unlockMemberKey(member, 'hpke', options.passphraseFile);
  return async (header) => {
    const { institution } = header.context;
    if (institution !== member.institution) {
      throw new CliError('EV_ERR_CUSTODY_BINDING_MISMATCH', `the recording belongs to institution '${institution}', your keys to '${member.institution}'`,
        'a grant opens recordings of its own institution only: pass the member key file of that institution');
    }
    const epoch = header.keySlot.epoch;
    const grant = grantFor(grants, epoch);
    const named = (grant as { epochPublicKey?: unknown }).epochPublicKey;
    const epochPublicKey = pinned ?? (typeof named === 'string' ? fromBase64Url(named) : null) ?? new Uint8Array(0);
    try {
      return await openGrant(grant, { institution, epoch, epochPublicKey }, { kind: 'member', member: member.member, keys: member.statement }, hpkeKey);
    } catch (e) {
      if (isCryptoError(e, 'EV_ERR_CRYPTO_DECRYPTION_FAILED')) {
        throw new CliError(e.code, `the grant in '${options.grant}' does not open with your key${pinned ? ' to the pinned epoch key' : ''}: decryption failed`,
          'the grant was made for other keys than yours (or other ones than this member key file), or it was modified: fetch it again, or ask an admin to approve your current keys');
      }
      if (isCryptoError(e)) throw new CliError(e.code, `the grant in '${options.grant}': ${e.message}`, grantHint(e.code));
      throw e;
    }
  };
}

function grantHint(code: string): string {
  if (code === 'EV_ERR_CUSTODY_BINDING_MISMATCH') {
    return 'the grant names another member, key fingerprint, institution or epoch key than yours: it is not for these keys; report it if the server served it to you';
  }
  return 'the grant file is damaged or was edited: fetch it again (GET /v1/custody/me/grant)';
}

async function readEpochPublicKey(path: string): Promise<Uint8Array> {
  const json = await readJsonFile(path, { name: 'epoch public key file', missingHint: '--epoch-public-key takes the .pub file of the epoch key' });
  try {
    return (await readPublicKeyFile(json)).raw;
  } catch (e) {
    if (isCryptoError(e)) throw new CliError(e.code, `epoch public key file '${path}': ${e.message}`, '--epoch-public-key takes the .pub file `examvault keygen` writes');
    throw e;
  }
}

/** Output for the whole recording: the verified plaintext, or nothing. */
async function openWhole(input: string, keyFor: EpochKeyFor, options: OpenOptions): Promise<void> {
  const source = await openInput(input, inputRole);
  const plaintext = source.pipeThrough(createOpenStream(async (header: Header) => openRecording(header, await keyFor(header))));
  if (options.out !== undefined) {
    await writeAtomically(options.out, { overwrite: options.force ?? false }, (file) => plaintext.pipeTo(file.writable()));
    return;
  }
  const verified: Uint8Array[] = [];
  for await (const chunk of chunksOf(plaintext)) verified.push(chunk);
  await writeStdout(verified);
}

/** Output for one segment, found by walking the record lengths (SPEC §7) without decrypting the rest. */
async function openOneSegment(input: string, index: number, keyFor: EpochKeyFor, options: OpenOptions): Promise<void> {
  const file = await readInput(input, inputRole);
  const { header, records } = locateRecords(file);
  const record = records[index];
  if (!record) {
    throw new CliError('EV_ERR_CLI_SEGMENT_NOT_FOUND', `there is no segment ${index}: the file holds ${records.length} (numbered from 0)`,
      records.length === 0 ? 'the file holds no segment at all: it was cut short after the header; fetch it again'
        : `pass --segment 0..${records.length - 1}; \`examvault inspect\` shows the count`);
  }
  const opener = await openRecording(header, await keyFor(header));
  // The last flag is not passed: the reader tries both and authenticates whichever holds (SPEC §6.1).
  const { plaintext } = await opener.openSegment(index, file.subarray(record.offset, record.offset + record.length));
  if (options.out !== undefined) {
    await writeAtomically(options.out, { overwrite: options.force ?? false }, (out) => out.write(plaintext));
  } else {
    await writeStdout([plaintext]);
  }
}

/** Whether the input file starts like a case bundle; stdin is always read as a sealed recording. */
async function isBundleFile(input: string): Promise<boolean> {
  if (input === '-') return false;
  let handle;
  try {
    handle = await open(input, 'r');
  } catch {
    // Reported, with its hint, where the recording is read.
    return false;
  }
  try {
    const start = new Uint8Array(8);
    const { bytesRead } = await handle.read(start, 0, start.length, 0);
    return isCaseBundle(start.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

const bundleHints: Partial<Record<string, string>> = {
  EV_ERR_CUSTODY_BINDING_MISMATCH: 'the case was exported for another member or other keys: open it with the member key file of the reviewer who exported it',
  EV_ERR_CUSTODY_SIGNATURE_INVALID: 'the case bundle was modified, or was not made by this member: do not trust its contents; export the case again',
  EV_ERR_CRYPTO_DECRYPTION_FAILED: 'a recording in the case bundle was modified or swapped: do not trust it; export the case again',
};

/**
 * A case bundle (docs/SPEC.md §12): verified whole (the member's signature over the manifest, each
 * item's hash and data key) before any plaintext is read, then every recording decrypted into a
 * directory that appears, under -o, only once every segment of every recording has verified.
 */
async function openBundle(input: string, options: OpenOptions): Promise<void> {
  if (options.grant !== undefined || options.epochPublicKey !== undefined || options.segment !== undefined) {
    throw usageError('a case bundle opens with your member key alone', 'leave out --grant, --epoch-public-key and --segment');
  }
  if (options.out === undefined) throw usageError('a case bundle holds several recordings: -o names the directory to write them to', 'pass -o <new directory>');
  await assertAbsent(options.out);
  const member = await readMemberKeyFile(options.key);
  const hpkePrivateKey = await unlockMemberKey(member, 'hpke', options.passphraseFile);
  const bytes = await readInput(input, inputRole);
  try {
    const opened = await openCaseBundle(bytes, { member: member.member, keys: member.statement, hpkePrivateKey });
    const files = await writeDirectoryAtomically(options.out, async (dir) => {
      const written = [];
      for (const [i, item] of opened.items.entries()) {
        const { recording, track, mediaType } = item.context;
        const file = `${i}-${track}-${recording}`;
        await writeAtomically(join(dir, file), {}, (out) => item.plaintext().pipeTo(out.writable()));
        written.push({ file, recording, track, mediaType });
      }
      return written;
    });
    const { institution, exam, attempt, member: exportedBy, createdAt } = opened.manifest;
    await writeJson({ directory: options.out, institution, exam, attempt, exportedBy, createdAt: new Date(createdAt).toISOString(), files });
  } catch (e) {
    const hint = isCryptoError(e) ? bundleHints[e.code] : undefined;
    if (isCryptoError(e) && hint) throw new CliError(e.code, `case bundle '${input}': ${e.message}`, hint);
    throw e;
  }
}

async function openCommand(input: string, options: OpenOptions): Promise<void> {
  if (await isBundleFile(input)) return openBundle(input, options);
  // Before the passphrase is asked for: finding out afterwards would waste the user's typing.
  if (options.out !== undefined && !options.force) await assertAbsent(options.out);
  let keyFor: EpochKeyFor;
  if (options.grant !== undefined) {
    keyFor = await grantKeys({ ...options, grant: options.grant });
  } else {
    if (options.epochPublicKey !== undefined) throw usageError('--epoch-public-key goes with --grant', 'pin the epoch key only when opening with your member key and a grant');
    const { privateKey } = await loadPrivateKey(options.key, options.passphraseFile);
    keyFor = () => Promise.resolve(privateKey);
  }
  if (options.segment !== undefined) await openOneSegment(input, options.segment, keyFor, options);
  else await openWhole(input, keyFor, options);
}

/** Registers `open` on the program. */
export function registerOpen(program: Command): void {
  program
    .command('open')
    .summary('decrypt a sealed recording')
    .description('Decrypt a sealed recording with an epoch private key file, or with your member key file and your grant (--grant). '
      + 'A case bundle (a reviewer\'s export) opens with your member key file alone, into the directory -o names. '
      + 'Nothing unverified is ever written: '
      + 'with -o the file appears only once the final segment has verified (and is deleted on any failure); to stdout '
      + 'the whole recording is verified in memory first and written only then, so stdout needs memory the size of '
      + 'the plaintext: prefer -o for large recordings.')
    .argument('<input>', 'the sealed recording, or - for stdin')
    .requiredOption('--key <file>', 'the epoch private key file written by keygen --out; with --grant, your member key file (custody keygen)')
    .option('--grant <file>', 'open with your own key: your grant file (custody approve\'s output, or GET /v1/custody/me/grant\'s answer)')
    .option('--epoch-public-key <file>', 'with --grant: the epoch public key (.pub) the grant must hold (default: the one the grant names)')
    .option('--passphrase-file <file>', `read the key file passphrase from this file (default: $${PASSPHRASE_ENV}, else ask on the terminal)`)
    .option('--segment <n>', 'output only segment n (from 0), authenticated on its own; reads the whole file into memory', parseSegmentIndex)
    .option('-o, --out <file>', 'write the plaintext here, atomically (default: stdout, after verifying everything); for a case bundle, a new directory')
    .option('--force', 'replace the -o file if it exists')
    .addHelpText('after', `
Examples:
  $ examvault open --key epoch-1.key -o camera.webm camera.evs
  $ examvault open --key epoch-1.key --segment 3 camera.evs > part-3.webm
  $ examvault open --key rev-1.keys.json --grant my-grants.json -o camera.webm camera.evs
  $ examvault open --key rev-1.keys.json -o case-att-0001 att-0001.evcase`)
    .action((input: string, options: OpenOptions) => openCommand(input, options));
}
