/**
 * What every operator command shares: the server's configuration, read exactly as the server reads it
 * (`--config <file>`, else EXAMVAULT_CONFIG or ./examvault.config.json, then the EXAMVAULT_*
 * variables), and the server's services opened on its data directory for one command, always closed.
 * A command acts on the data directory directly, so it is meant for the machine the server runs on.
 */
import { stat } from 'node:fs/promises';
import { loadConfig } from '../../server/config.js';
import type { ServerConfig } from '../../server/config.types.js';
import { cellDir } from '../../server/regions/cells.js';
import { type Services, openServices } from '../../server/services.js';
import { CliError } from '../errors.js';

/** The flag every operator command takes. */
export interface ConfigOption {
  readonly config?: string;
}

export function operatorConfig(options: ConfigOption): ServerConfig {
  // `--config=<path>`, one argument, so a path starting with "-" is still a path.
  const argv = options.config === undefined ? [] : [`--config=${options.config}`];
  return loadConfig({ argv, env: process.env, cwd: process.cwd() });
}

function isDirectory(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isDirectory(), () => false);
}

/** Where the data comes from, for hints: the configured data directory and how to change it. */
function dataDirHint(config: ServerConfig): string {
  return `the data directory is ${config.dataDir}: point --config or EXAMVAULT_DATA_DIR at the server's own`;
}

/** Refuses a catalog region this deployment does not run: it has no cell here. */
export function assertServed(config: ServerConfig, region: string): void {
  if (!config.regions.includes(region)) {
    throw new CliError('EV_ERR_CLI_REGION_NOT_SERVED', `region '${region}' is not served by this deployment (it serves ${config.regions.join(', ')})`,
      `choose one of ${config.regions.join(', ')}, or add '${region}' to "regions" in the config file (or EXAMVAULT_REGIONS)`);
  }
}

/**
 * Refuses to act on data that is not there (a wrong data directory, a cell never opened) rather than
 * create an empty one and then report that nothing is in it.
 */
export async function assertExists(config: ServerConfig, path: string, what: string): Promise<void> {
  if (!(await isDirectory(path))) throw new CliError('EV_ERR_CLI_NO_DATA', `no ${what} at '${path}'`, dataDirHint(config));
}

/**
 * The configured regions that have a cell on disk. A command that reads (`attempts issue`) opens only
 * these, so it never creates an empty cell as a side effect; an institution lives in an existing one.
 */
export async function existingCells(config: ServerConfig): Promise<string[]> {
  const found = await Promise.all(config.regions.map((region) => isDirectory(cellDir(config.dataDir, region))));
  return config.regions.filter((_, i) => found[i]);
}

/** Opens the services for `regions` of the configured data directory, runs `work`, and closes them. */
export async function withServices<T>(config: ServerConfig, regions: readonly string[], work: (services: Services) => Promise<T>): Promise<T> {
  const services = await openServices({ dataDir: config.dataDir, regions });
  let result: T;
  try {
    result = await work(services);
  } catch (e) {
    // The failure of `work` is the one to report, not a second one while closing.
    await services.close().catch(() => undefined);
    throw e;
  }
  await services.close();
  return result;
}
