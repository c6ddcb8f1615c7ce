/**
 * `examvault keys rotate`: rotates a region cell's key-encryption key (DESIGN "At rest"). A new
 * keyring version becomes current, then every at-rest data key of the cell is re-wrapped under it.
 * Only the small key records are rewritten: the sealed objects (the media) are neither read nor
 * written, so a rotation costs the same for a hundred recordings of an hour as for a hundred of a
 * minute. The old versions stay in the keyring, so anything not re-wrapped stays readable.
 *
 * The rotation comes first, and the cell's blob store is opened after it: the store's keyring then
 * reads the new version from disk. (A keyring opened before would keep wrapping under the old one for
 * up to its reload interval, and the re-wrap would find everything "up to date".) Run it with the
 * server stopped: a re-wrap racing a shred in another process can bring back the shredded key record
 * (EncryptedBlobStore).
 */
import { EncryptedBlobStore } from '../../server/storage/blob-store.encrypted.js';
import { cellDir } from '../../server/regions/cells.js';
import { openCellKeyring } from '../../server/regions/cell-storage.fs.js';
import { CliError } from '../errors.js';
import { writeJson } from '../io.js';
import { type ConfigOption, assertExists, assertServed, operatorConfig, withServices } from './server.js';

export interface KeysRotateOptions extends ConfigOption {
  readonly region: string;
}

/** What `keys rotate` prints. Field names are part of the CLI's interface. */
export interface RotationReport {
  readonly region: string;
  readonly keyId: string;
  /** The version now current, that every re-wrapped record is under. */
  readonly version: number;
  readonly rewrapped: number;
  /** Records that already were under `version` (written after the rotation). */
  readonly upToDate: number;
  /** Records that could not be opened; each is named on stderr with its code. */
  readonly failed: number;
}

export async function run(options: KeysRotateOptions): Promise<void> {
  const { region } = options;
  const config = operatorConfig(options);
  assertServed(config, region);
  const dir = cellDir(config.dataDir, region);
  await assertExists(config, dir, `cell for region '${region}'`);
  const log = (line: string) => process.stderr.write(`keys rotate: ${line}\n`);

  const keyring = await openCellKeyring(dir, region);
  const previous = (await keyring.current()).version;
  const version = await keyring.rotate();
  log(`${keyring.keyId} version ${version} is current (was ${previous})`);

  const result = await withServices(config, [region], async ({ cells }) => {
    const blobs = cells.get(region)?.blobs;
    if (!(blobs instanceof EncryptedBlobStore)) throw new Error(`the blob store of region ${region} is not encrypted at rest`);
    let objects = 0;
    const listing = blobs.list('')[Symbol.asyncIterator]();
    while (!(await listing.next()).done) objects++;
    log(`re-wrapping the data keys of ${objects} stored object${objects === 1 ? '' : 's'} in ${region}; the objects themselves are not rewritten`);
    return blobs.rewrapAll();
  });
  for (const failure of result.failed) log(`failed: ${failure.key} (${failure.code})`);
  log(`${region}: ${result.rewrapped} re-wrapped, ${result.upToDate} already current, ${result.failed.length} failed`);

  const report: RotationReport = { region, keyId: keyring.keyId, version, rewrapped: result.rewrapped, upToDate: result.upToDate, failed: result.failed.length };
  await writeJson(report);
  if (result.failed.length > 0) {
    throw new CliError('EV_ERR_CLI_REWRAP_FAILED',
      `${result.failed.length} key record${result.failed.length === 1 ? '' : 's'} in ${region} could not be re-wrapped and stay under older versions`,
      'each is listed above with its code (docs/errors.md): restore it from a backup, or shred it, then run `examvault keys rotate` again; do not remove old key versions until none fails');
  }
}
