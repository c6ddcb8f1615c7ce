/**
 * `examvault attempts issue`: issues the bearer credential that lets one exam attempt upload its
 * recordings (until the sign-in flows issue them). The token is printed once: the cell stores only its
 * SHA-256, so it cannot be shown again, and a lost one is replaced by issuing another.
 */
import { issueAttemptCredential } from '../../server/attempts/attempt.service.js';
import { writeJson } from '../io.js';
import { withApiHints } from './errors.js';
import { type ConfigOption, assertExists, existingCells, operatorConfig, withServices } from './server.js';

export interface AttemptsIssueOptions extends ConfigOption {
  readonly institution: string;
  readonly exam: string;
  readonly attempt?: string;
  /** Seconds; default the server's `attemptCredentialTtlSeconds`. */
  readonly ttl?: number;
}

/** What `attempts issue` prints. Field names are part of the CLI's interface. */
export interface IssuedAttemptReport {
  readonly token: string;
  readonly institution: string;
  readonly region: string;
  readonly exam: string;
  readonly attempt: string;
  /** ISO 8601, UTC. */
  readonly expiresAt: string;
}

export async function run(options: AttemptsIssueOptions): Promise<void> {
  const config = operatorConfig(options);
  await assertExists(config, config.dataDir, 'ExamVault data directory');
  const ttlSeconds = options.ttl ?? config.attemptCredentialTtlSeconds;
  await withServices(config, await existingCells(config), async ({ cells, directory }) => {
    const issued = await withApiHints(
      {
        EV_ERR_API_NOT_FOUND: 'pass the id `examvault institutions create` printed (inst-...), and check that --config or EXAMVAULT_DATA_DIR names the same data directory',
        EV_ERR_API_BAD_REQUEST: '--ttl is 60 seconds to 7 days (e.g. 90m, 6h); --exam and --attempt are 1-64 characters of [A-Za-z0-9._:-]',
      },
      () => issueAttemptCredential(cells, directory, { institution: options.institution, exam: options.exam, attempt: options.attempt, ttlSeconds }, Date.now()),
    );
    const report: IssuedAttemptReport = {
      token: issued.token,
      institution: issued.institution,
      region: issued.region,
      exam: issued.exam,
      attempt: issued.attempt,
      expiresAt: new Date(issued.expiresAt).toISOString(),
    };
    await writeJson(report);
    process.stderr.write(`the token is shown only this once (the server keeps only its hash) and allows uploads for attempt ${issued.attempt} until ${report.expiresAt}: `
      + 'hand it to the attempt\'s recorder now, and issue a new one if it is lost\n');
  });
}
