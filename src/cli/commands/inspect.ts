/**
 * `examvault inspect`: prints a sealed recording's header as JSON, without any key. Header fields are
 * authenticated but not secret (docs/SPEC.md §11), so anyone holding the file can read them; nothing
 * printed here is verified until the recording is opened with its key. The record count and plaintext
 * size come from the framing alone and say so: a file cut at a record boundary looks complete here and
 * only `open` finds out.
 */
import type { Command } from 'commander';
import { type Header, TAG_LENGTH, locateRecords, toBase64Url } from '../../crypto/index.js';
import { readInput, writeJson } from '../io.js';

/** The JSON `inspect` prints. Field names are part of the CLI's interface: scripts read them. */
export interface InspectReport {
  readonly formatVersion: number;
  /** The cipher suite, as in the SPEC: "0x0001". */
  readonly suite: string;
  readonly context: Header['context'];
  readonly epoch: number;
  readonly maxSegment: number;
  readonly salt: string;
  readonly commitment: string;
  readonly enc: string;
  readonly wrappedDek: string;
  readonly headerLength: number;
  readonly unverified: {
    readonly note: string;
    readonly records: number;
    readonly plaintextBytes: number;
    readonly fileBytes: number;
  };
}

/** Builds the report for a whole sealed file; throws the crypto core's FORMAT errors on bad framing. */
export function inspectFile(file: Uint8Array): InspectReport {
  const { header, records } = locateRecords(file);
  const bytes = header.bytes;
  return {
    // Offsets 6 and 7-8 of the header (SPEC §5); decoding already refused anything but 1 and 0x0001.
    formatVersion: bytes[6] as number,
    suite: `0x${(((bytes[7] as number) << 8) | (bytes[8] as number)).toString(16).padStart(4, '0')}`,
    context: header.context,
    epoch: header.keySlot.epoch,
    maxSegment: header.maxSegment,
    salt: toBase64Url(header.salt),
    commitment: toBase64Url(header.commitment),
    enc: toBase64Url(header.keySlot.enc),
    wrappedDek: toBase64Url(header.keySlot.wrappedDek),
    headerLength: bytes.length,
    unverified: {
      note: 'counted from the record lengths without a key: not authenticated, and a file truncated at a record boundary is not detected here',
      records: records.length,
      plaintextBytes: records.reduce((sum, r) => sum + r.length - TAG_LENGTH, 0),
      fileBytes: file.length,
    },
  };
}

async function inspect(input: string): Promise<void> {
  const file = await readInput(input, { name: 'recording', missingHint: 'check the path of the sealed recording' });
  const report = inspectFile(file);
  await writeJson(report);
}

/** Registers `inspect` on the program. */
export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .summary('print a sealed recording\'s header as JSON (no key needed)')
    .description('Print a sealed recording\'s header as JSON: format version, suite, context, epoch, maximum segment '
      + 'size, salt, commitment, encapsulated key, header length, and (under "unverified") the record count and '
      + 'plaintext size counted from the framing. Needs no key, so nothing printed is authenticated.')
    .argument('<input>', 'the sealed recording, or - for stdin')
    .addHelpText('after', `
Example:
  $ examvault inspect camera.evs | jq .context`)
    .action((input: string) => inspect(input));
}
