/**
 * `examvault seal`: encrypts a file or stdin to an epoch public key as one sealed recording
 * (docs/SPEC.md §7). Streams: memory use is about two segments whatever the input size.
 *
 * The output is ciphertext, so streaming it to stdout is safe: a run cut short leaves a file that
 * readers reject as truncated. With -o it still appears only when complete (temporary name, fsync,
 * rename), so a half-written file never sits under the final name.
 */
import { randomBytes } from 'node:crypto';
import { type Command, Option } from 'commander';
import { type Track, createRecordingSealer, createSealStream } from '../../crypto/index.js';
import { writeAtomically } from '../atomic-file.js';
import { CliError, usageError } from '../errors.js';
import { chunksOf, openInput, writeStdout } from '../io.js';
import { loadPublicKey } from '../keys.js';
import { contextField, parseEpoch, parseSize, parseTrack } from '../parse.js';

interface SealOptions {
  readonly recipient: string;
  readonly institution: string;
  readonly region: string;
  readonly exam: string;
  readonly attempt: string;
  readonly track: Track;
  readonly epoch: number;
  readonly recording?: string;
  readonly mediaType: string;
  readonly segmentSize: number;
  readonly out?: string;
  readonly force?: boolean;
}

/** 1 MiB: a few seconds of camera video, so seeking costs little and per-segment overhead (20 bytes) is nil. */
export const DEFAULT_SEGMENT_SIZE = 1024 * 1024;

/** A random recording id: 32 hex digits (128 bits), inside the id alphabet of docs/SPEC.md §5. */
function randomRecordingId(): string {
  return randomBytes(16).toString('hex');
}

async function seal(input: string | undefined, options: SealOptions): Promise<void> {
  if (input === undefined && process.stdin.isTTY) {
    throw usageError('no input: stdin is a terminal', 'pass the file to seal, or pipe it in (use - to read the terminal on purpose)');
  }
  if (options.out === undefined && process.stdout.isTTY) {
    throw new CliError('EV_ERR_CLI_TERMINAL_OUTPUT', 'refusing to write a sealed recording to the terminal', 'write it to a file with -o <file>, or redirect stdout');
  }
  const recipient = await loadPublicKey(options.recipient);
  const source = await openInput(input ?? '-', { name: 'input', missingHint: 'check the path of the file to seal' });
  const sealer = await createRecordingSealer({
    context: {
      institution: options.institution,
      region: options.region,
      exam: options.exam,
      attempt: options.attempt,
      recording: options.recording ?? randomRecordingId(),
      track: options.track,
      mediaType: options.mediaType,
    },
    recipient,
    epoch: options.epoch,
    // The segment size is the recording's maximum too: a reader then rejects any larger record.
    maxSegment: options.segmentSize,
  });
  const sealed = source.pipeThrough(createSealStream(sealer, { segmentSize: options.segmentSize }));
  if (options.out === undefined) {
    await writeStdout(chunksOf(sealed));
    return;
  }
  await writeAtomically(options.out, { overwrite: options.force ?? false }, (file) => sealed.pipeTo(file.writable()));
}

/** Registers `seal` on the program. */
export function registerSeal(program: Command): void {
  program
    .command('seal')
    .summary('encrypt a recording to an epoch public key')
    .description('Encrypt a file (or stdin) to an epoch public key as one sealed recording. The context flags are '
      + 'authenticated into every segment and shown by `examvault inspect`; they must match what the server expects.')
    .argument('[input]', 'the file to seal, or - for stdin (default: stdin)')
    .requiredOption('--recipient <file>', 'the epoch public key file (the .pub written by keygen)')
    .requiredOption('--institution <id>', 'institution id', contextField('institution'))
    .requiredOption('--region <region>', 'data residency region, e.g. eu', contextField('region'))
    .requiredOption('--exam <id>', 'exam id', contextField('exam'))
    .requiredOption('--attempt <id>', 'attempt id', contextField('attempt'))
    .requiredOption('--track <track>', 'camera, microphone, screen or snapshot', parseTrack)
    .requiredOption('--epoch <n>', 'the institution epoch the recipient key belongs to (1 or more)', parseEpoch)
    .option('--recording <id>', 'recording id (default: 32 random hex digits)', contextField('recording'))
    .addOption(new Option('--media-type <type>', 'media type of the plaintext, e.g. video/webm;codecs=vp9')
      .argParser(contextField('mediaType')).default('', 'empty, meaning unknown'))
    .addOption(new Option('--segment-size <size>', 'plaintext bytes per segment: 65536, 64KiB, 1MiB ... up to 16MiB')
      .argParser(parseSize).default(DEFAULT_SEGMENT_SIZE, '1MiB'))
    .option('-o, --out <file>', 'write the sealed file here, atomically (default: stdout)')
    .option('--force', 'replace the -o file if it exists')
    .addHelpText('after', `
Ids (--institution, --exam, --attempt, --recording) are 1-64 characters of [A-Za-z0-9._:-], starting with a
letter or digit. They are authenticated, not secret: never put a person's name in them.

Examples:
  $ examvault seal --recipient epoch-1.key.pub --institution inst-7f3a --region eu --exam chem-101 \\
      --attempt att-0001 --track camera --epoch 1 --media-type video/webm -o camera.evs camera.webm
  $ record-camera | examvault seal --recipient epoch-1.key.pub ... --track camera --epoch 1 > camera.evs`)
    .action((input: string | undefined, options: SealOptions) => seal(input, options));
}
