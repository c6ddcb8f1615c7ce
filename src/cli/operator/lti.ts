/**
 * `examvault lti platforms add|list|remove` and `examvault lti keys rotate|status`: the LTI 1.3 tool's
 * platform registrations and signing keys, on the server's data directory (docs/LTI.md). Registrations
 * go through the same checks as the admin API; the key rotation keeps the old key published for its
 * grace period, so platforms that cached the tool JWKS still verify what was just signed.
 */
import { join } from 'node:path';
import { platformsOf, registerPlatform, removePlatform } from '../../server/lti/platform.service.js';
import { ToolKeys } from '../../server/lti/tool-keys.js';
import { writeJson } from '../io.js';
import { type ConfigOption, assertExists, existingCells, operatorConfig, withServices } from './server.js';

export interface PlatformsAddOptions extends ConfigOption {
  readonly institution: string;
  readonly issuer: string;
  readonly clientId: string;
  readonly deployment: string[];
  readonly authEndpoint: string;
  readonly tokenEndpoint: string;
  readonly jwksUrl: string;
  readonly frameOrigin?: string[];
  readonly keepClaim?: string[];
}

export interface PlatformsListOptions extends ConfigOption {
  readonly institution: string;
}

export interface PlatformsRemoveOptions extends PlatformsListOptions {
  readonly platform: string;
}

async function onServices<T>(options: ConfigOption, work: (services: Parameters<Parameters<typeof withServices>[2]>[0]) => Promise<T>): Promise<T> {
  const config = operatorConfig(options);
  await assertExists(config, config.dataDir, 'ExamVault data directory');
  return withServices(config, await existingCells(config), work);
}

export async function add(options: PlatformsAddOptions): Promise<void> {
  const body = {
    issuer: options.issuer,
    clientId: options.clientId,
    deploymentIds: options.deployment,
    authEndpoint: options.authEndpoint,
    tokenEndpoint: options.tokenEndpoint,
    jwksUrl: options.jwksUrl,
    frameOrigins: options.frameOrigin ?? [],
    keptClaims: options.keepClaim ?? [],
  };
  await writeJson(await onServices(options, ({ cells, directory }) => registerPlatform(cells, directory, options.institution, body, Date.now())));
}

export async function list(options: PlatformsListOptions): Promise<void> {
  await writeJson(await onServices(options, ({ cells, directory }) => platformsOf(cells, directory, options.institution)));
}

export async function remove(options: PlatformsRemoveOptions): Promise<void> {
  await onServices(options, ({ cells, directory }) => removePlatform(cells, directory, options.institution, options.platform));
  await writeJson({ removed: options.platform });
}

async function toolKeys(options: ConfigOption): Promise<ToolKeys> {
  const config = operatorConfig(options);
  await assertExists(config, config.dataDir, 'ExamVault data directory');
  return ToolKeys.open(join(config.dataDir, 'lti'));
}

export async function rotateKeys(options: ConfigOption): Promise<void> {
  await writeJson({ keys: await (await toolKeys(options)).rotate() });
}

export async function keyStatus(options: ConfigOption): Promise<void> {
  await writeJson({ keys: await (await toolKeys(options)).info() });
}
