/**
 * `examvault platforms register` and `platforms revoke`: an institution's assessment platforms, from
 * the server's machine (admins do the same through the staff API). The API key and the webhook secret
 * are printed once: the cell keeps only the key's hash, and derives the secret from its passcode key.
 */
import { ApiError } from '../../protocol/errors.js';
import { regionOf } from '../../server/directory/directory.repository.js';
import { findInstitution } from '../../server/institutions/institution.repository.js';
import { openPasscodeKeys } from '../../server/platforms/passcode-key.js';
import { registerPlatform, revokePlatformOf } from '../../server/platforms/platform.service.js';
import type { Cell } from '../../server/regions/cell.types.js';
import type { Services } from '../../server/services.js';
import { CliError } from '../errors.js';
import { writeJson } from '../io.js';
import { type ConfigOption, assertExists, existingCells, operatorConfig, withServices } from './server.js';

export interface PlatformsRegisterOptions extends ConfigOption {
  readonly institution: string;
  readonly name: string;
  readonly webhookUrl: string;
}

export interface PlatformsRevokeOptions extends ConfigOption {
  readonly institution: string;
  readonly platform: string;
}

const institutionHint = 'pass the id `examvault institutions create` printed (inst-...), and check that --config or EXAMVAULT_DATA_DIR names the same data directory';

async function cellOf({ cells, directory }: Services, institution: string): Promise<Cell> {
  const region = await regionOf(directory, institution);
  const cell = region ? cells.get(region) : undefined;
  if (!cell || !(await findInstitution(cell.db, institution))) throw new CliError('EV_ERR_API_NOT_FOUND', `no institution ${JSON.stringify(institution)}`, institutionHint);
  return cell;
}

function withHint(e: unknown, hints: Readonly<Record<string, string>>): unknown {
  const hint = e instanceof ApiError ? hints[e.code] : undefined;
  return e instanceof ApiError && hint ? new CliError(e.code as `EV_ERR_${string}`, e.message, hint) : e;
}

export async function register(options: PlatformsRegisterOptions): Promise<void> {
  const config = operatorConfig(options);
  await assertExists(config, config.dataDir, 'ExamVault data directory');
  await withServices(config, await existingCells(config), async (services) => {
    const cell = await cellOf(services, options.institution);
    const keys = await openPasscodeKeys(config.dataDir, [cell.region]);
    const body = { name: options.name, webhookUrl: options.webhookUrl };
    const registered = await registerPlatform(cell, keys, { institution: options.institution, createdBy: null, body, allowLoopbackWebhooks: false }, Date.now()).catch((e: unknown) => {
      throw withHint(e, { EV_ERR_PLATFORM_INVALID_REQUEST: '--name is 1-100 printable characters; --webhook-url is an https URL of the platform (no loopback or private address, no user name or password)' });
    });
    await writeJson(registered);
    process.stderr.write('the API key and the webhook secret are shown only this once: give them to the platform now; if they are lost, revoke the platform and register it again\n');
  });
}

export async function revoke(options: PlatformsRevokeOptions): Promise<void> {
  const config = operatorConfig(options);
  await assertExists(config, config.dataDir, 'ExamVault data directory');
  await withServices(config, await existingCells(config), async (services) => {
    const cell = await cellOf(services, options.institution);
    await revokePlatformOf(cell, options.institution, options.platform, Date.now()).catch((e: unknown) => {
      throw withHint(e, { EV_ERR_PLATFORM_NOT_FOUND: 'pass the platform id `examvault platforms register` printed (plat-...), with its own institution' });
    });
    await writeJson({ platform: options.platform, institution: options.institution, revoked: true });
  });
}
