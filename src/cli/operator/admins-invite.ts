/**
 * `examvault admins invite`: bootstraps an institution's first admin (or another one) with a one-time,
 * expiring setup link. The token rides in the link's fragment (`#…`), which browsers never send, so it
 * stays out of server and proxy logs; the cell stores only its SHA-256. Printed once: a lost link is
 * replaced by inviting again.
 */
import { ApiError } from '../../protocol/errors.js';
import { issueStaffInvite } from '../../server/staff/staff.service.js';
import { CliError } from '../errors.js';
import { writeJson } from '../io.js';
import { type ConfigOption, assertExists, existingCells, operatorConfig, withServices } from './server.js';

export interface AdminsInviteOptions extends ConfigOption {
  readonly institution: string;
  /** Seconds; default 24 hours. */
  readonly ttl?: number;
}

/** What `admins invite` prints. Field names are part of the CLI's interface. */
export interface AdminInviteReport {
  readonly setupUrl: string;
  readonly institution: string;
  readonly role: 'admin';
  /** ISO 8601, UTC. */
  readonly expiresAt: string;
}

export const DEFAULT_ADMIN_INVITE_TTL_S = 24 * 3600;

const hints: Readonly<Record<string, string>> = {
  EV_ERR_STAFF_WRONG_INSTITUTION: 'pass the id `examvault institutions create` printed (inst-...), and check that --config or EXAMVAULT_DATA_DIR names the same data directory',
  EV_ERR_STAFF_INVITE_INVALID: '--ttl is 5 minutes to 7 days (e.g. 30m, 24h, 3d)',
  EV_ERR_STAFF_AUDIT_UNAVAILABLE: 'no invite was issued: check the cell database (the server\'s log shows the cause), then run the command again',
};

export async function run(options: AdminsInviteOptions): Promise<void> {
  const config = operatorConfig(options);
  await assertExists(config, config.dataDir, 'ExamVault data directory');
  await withServices(config, await existingCells(config), async ({ cells, directory }) => {
    let issued;
    try {
      issued = await issueStaffInvite(cells, directory, {
        institution: options.institution,
        role: 'admin',
        ttlSeconds: options.ttl ?? DEFAULT_ADMIN_INVITE_TTL_S,
        createdBy: null,
        publicOrigin: config.publicOrigin,
      }, Date.now());
    } catch (e) {
      const hint = e instanceof ApiError ? hints[e.code] : undefined;
      if (e instanceof ApiError && hint) throw new CliError(e.code as `EV_ERR_${string}`, e.message, hint);
      throw e;
    }
    const report: AdminInviteReport = { setupUrl: issued.setupUrl, institution: issued.institution, role: 'admin', expiresAt: new Date(issued.expiresAt).toISOString() };
    await writeJson(report);
    process.stderr.write(`the setup link works once, until ${report.expiresAt}, and is shown only this once (the server keeps only its hash): `
      + 'give it to the new admin over a channel you trust; they open it in a browser and register a passkey\n');
  });
}
