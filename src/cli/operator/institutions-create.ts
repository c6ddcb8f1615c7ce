/**
 * `examvault institutions create`: sets up an institution in one region (DESIGN "Key custody",
 * "Regions"). With `--no-epoch-key` no key is made: the institution awaits set-up, and its first
 * admin's browser generates the epoch-1 key pair (the console's set-up), so the vendor running the
 * server never holds it. With `--key-out` the epoch-1 key pair is generated here, on the operator's
 * machine, and written as `keygen` writes it; the server is handed the public key only, so no byte of
 * the private key ever reaches the data directory.
 *
 * Order: the key files are written first, then the institution is registered. Registering first would
 * leave, on a failed write, an institution whose recordings nobody could ever open; a failed
 * registration instead removes the key files again, so a failure leaves nothing behind.
 */
import { toBase64Url } from '../../crypto/index.js';
import { createInstitution } from '../../server/institutions/institution.service.js';
import { assertAbsent } from '../atomic-file.js';
import { usageError } from '../errors.js';
import { defaultPublicKeyPath, writeEpochKeyFiles } from '../commands/keygen.js';
import { writeJson } from '../io.js';
import { withApiHints } from './errors.js';
import { type ConfigOption, assertServed, operatorConfig, withServices } from './server.js';

export interface InstitutionsCreateOptions extends ConfigOption {
  readonly name: string;
  readonly region: string;
  readonly keyOut?: string;
  /** false with --no-epoch-key. */
  readonly epochKey: boolean;
  readonly passphraseFile?: string;
}

/** What `institutions create` prints. Field names are part of the CLI's interface. */
export interface CreatedInstitutionReport {
  readonly institution: string;
  readonly region: string;
  readonly epoch: number;
  /** Of the epoch public key: what reviewers and admins compare; null while the institution awaits set-up. */
  readonly fingerprint: string | null;
}

const nameHint = '--name is 1-200 printable characters (no line breaks or control characters)';

export async function run(options: InstitutionsCreateOptions): Promise<void> {
  if (!options.epochKey) {
    if (options.keyOut !== undefined || options.passphraseFile !== undefined) {
      throw usageError('--no-epoch-key makes no key file', 'drop --key-out and --passphrase-file, or --no-epoch-key');
    }
    await createAwaitingSetUp(options);
    return;
  }
  const keyOut = options.keyOut;
  if (keyOut === undefined) {
    throw usageError('say where the epoch key goes',
      'pass --no-epoch-key to let the first admin\'s console generate it at set-up, or --key-out <file> to generate it here');
  }
  const config = operatorConfig(options);
  assertServed(config, options.region);
  // Cheap checks before the data directory is opened and the passphrase asked for.
  await assertAbsent(keyOut);
  await assertAbsent(defaultPublicKeyPath(keyOut));
  await withServices(config, [options.region], async ({ cells, directory }) => {
    const keys = await writeEpochKeyFiles({ out: keyOut, passphraseFile: options.passphraseFile });
    const created = await withApiHints(
      { EV_ERR_API_BAD_REQUEST: `${nameHint}; nothing was registered and the key files were removed` },
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

/** The institution with no epoch key: nothing secret is made or written on this machine. */
async function createAwaitingSetUp(options: InstitutionsCreateOptions): Promise<void> {
  const config = operatorConfig(options);
  assertServed(config, options.region);
  await withServices(config, [options.region], async ({ cells, directory }) => {
    const created = await withApiHints({ EV_ERR_API_BAD_REQUEST: `${nameHint}; nothing was registered` },
      () => createInstitution(cells, directory, { name: options.name, region: options.region }, Date.now()));
    const report: CreatedInstitutionReport = { institution: created.id, region: created.region, epoch: created.epoch, fingerprint: null };
    await writeJson(report);
    process.stderr.write('no epoch key was made: the institution awaits set-up by its first admin (`examvault admins invite`), whose browser '
      + 'generates the epoch-1 key pair; nothing can be recorded until then\n');
  });
}
