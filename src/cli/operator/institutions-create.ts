/**
 * `examvault institutions create`: sets up an institution in one region (DESIGN "Key custody",
 * "Regions"). The epoch-1 key pair is generated here, on the operator's machine, and written as
 * `keygen` writes it; the server is handed the public key only, so no byte of the private key ever
 * reaches the data directory.
 *
 * Order: the key files are written first, then the institution is registered. Registering first would
 * leave, on a failed write, an institution whose recordings nobody could ever open; a failed
 * registration instead removes the key files again, so a failure leaves nothing behind.
 */
import { toBase64Url } from '../../crypto/index.js';
import { createInstitution } from '../../server/institutions/institution.service.js';
import { assertAbsent } from '../atomic-file.js';
import { defaultPublicKeyPath, writeEpochKeyFiles } from '../commands/keygen.js';
import { writeJson } from '../io.js';
import { withApiHints } from './errors.js';
import { type ConfigOption, assertServed, operatorConfig, withServices } from './server.js';

export interface InstitutionsCreateOptions extends ConfigOption {
  readonly name: string;
  readonly region: string;
  readonly keyOut: string;
  readonly passphraseFile?: string;
}

/** What `institutions create` prints. Field names are part of the CLI's interface. */
export interface CreatedInstitutionReport {
  readonly institution: string;
  readonly region: string;
  readonly epoch: number;
  /** Of the epoch public key: what reviewers and admins compare. */
  readonly fingerprint: string;
}

export async function run(options: InstitutionsCreateOptions): Promise<void> {
  const config = operatorConfig(options);
  assertServed(config, options.region);
  // Cheap checks before the data directory is opened and the passphrase asked for.
  await assertAbsent(options.keyOut);
  await assertAbsent(defaultPublicKeyPath(options.keyOut));
  await withServices(config, [options.region], async ({ cells, directory }) => {
    const keys = await writeEpochKeyFiles({ out: options.keyOut, passphraseFile: options.passphraseFile });
    const created = await withApiHints(
      { EV_ERR_API_BAD_REQUEST: '--name is 1-200 printable characters (no line breaks or control characters); nothing was registered and the key files were removed' },
      () => createInstitution(cells, directory, { name: options.name, region: options.region, epochPublicKey: toBase64Url(keys.publicKey) }, Date.now()),
    ).catch(async (e: unknown) => {
      await keys.remove();
      throw e;
    });
    // Printed at once: the institution is committed, and its id must reach the operator even if
    // closing the data directory fails afterwards.
    const report: CreatedInstitutionReport = { institution: created.id, region: created.region, epoch: created.epoch, fingerprint: keys.fingerprint };
    await writeJson(report);
    process.stderr.write(`wrote private key ${keys.privatePath} (mode 0600) and public key ${keys.publicPath}; `
      + 'the server holds only the public key and cannot recover the private one: keep the key file and its passphrase safe\n');
  });
}
