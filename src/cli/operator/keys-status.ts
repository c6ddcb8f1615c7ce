/**
 * `examvault keys status`: the versions of a region cell's key-encryption keyring, which is current,
 * and when each was made. Never any key material: the keyring file holds the keys, this prints only
 * their numbers and dates.
 */
import { cellDir } from '../../server/regions/cells.js';
import { openCellKeyring } from '../../server/regions/cell-storage.fs.js';
import { writeJson } from '../io.js';
import { type ConfigOption, assertExists, assertServed, operatorConfig } from './server.js';

export interface KeysStatusOptions extends ConfigOption {
  readonly region: string;
}

/** What `keys status` prints. Field names are part of the CLI's interface. */
export interface KeyStatusReport {
  readonly region: string;
  readonly keyId: string;
  readonly current: number;
  readonly versions: readonly { readonly version: number; readonly createdAt: string; readonly current: boolean }[];
}

export async function run(options: KeysStatusOptions): Promise<void> {
  const config = operatorConfig(options);
  assertServed(config, options.region);
  const dir = cellDir(config.dataDir, options.region);
  await assertExists(config, dir, `cell for region '${options.region}'`);
  const keyring = await openCellKeyring(dir, options.region);
  const versions = await keyring.versions();
  const report: KeyStatusReport = {
    region: options.region,
    keyId: keyring.keyId,
    current: versions.find((v) => v.current)?.version ?? 0,
    // Copied field by field: whatever the keyring adds to its entries later, no key is printed.
    versions: versions.map((v) => ({ version: v.version, createdAt: v.createdAt, current: v.current })),
  };
  await writeJson(report);
}
