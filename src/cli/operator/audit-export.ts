/**
 * `examvault audit export`: writes a region cell's audit log, from an entry on, in the export format
 * `examvault audit verify` checks (src/crypto/merkle/export.ts): the entries, every checkpoint that
 * covers them with the consistency proofs between them, and a checkpoint signed now. With
 * `--institution`, the other institutions' entries are redacted to their leaf hashes: the export shows
 * one institution's events, and still proves every root (docs/AUDIT-LOG.md, "Export").
 *
 * It reads the cell's database and signs with the cell's log key, on the server's machine; it can run
 * while the server does (it appends nothing; a checkpoint it signs is one the server would have signed).
 */
import { CliError } from '../errors.js';
import { writeAtomically } from '../atomic-file.js';
import { jsonBytes, writeJson } from '../io.js';
import { findInstitution } from '../../server/institutions/institution.repository.js';
import { cellDir } from '../../server/regions/cells.js';
import { type ConfigOption, assertExists, assertServed, operatorConfig, withServices } from './server.js';

export interface AuditExportOptions extends ConfigOption {
  readonly region: string;
  readonly institution?: string;
  readonly from?: number;
  readonly out: string;
  readonly force?: boolean;
}

/** What `audit export` prints. Field names are part of the CLI's interface. */
export interface AuditExportReport {
  readonly region: string;
  readonly institution: string | null;
  readonly file: string;
  readonly from: number;
  readonly entries: number;
  /** Entries of other institutions, shown by their leaf hash only. */
  readonly redacted: number;
  /** The size of the checkpoint signed for this export. */
  readonly size: number;
  /** The log's verifier key line: publish it (out of band) for auditors to pin with `audit verify --key`. */
  readonly logKey: string;
}

export async function run(options: AuditExportOptions): Promise<void> {
  const config = operatorConfig(options);
  assertServed(config, options.region);
  await assertExists(config, cellDir(config.dataDir, options.region), `cell for region '${options.region}'`);
  await withServices(config, [options.region], async ({ cells }) => {
    const cell = cells.get(options.region);
    if (!cell) throw new Error(`no cell for region ${options.region}`);
    if (options.institution !== undefined && !(await findInstitution(cell.db, options.institution))) {
      throw new CliError('EV_ERR_CLI_NO_DATA', `no institution '${options.institution}' in region '${options.region}'`,
        'pass the id `examvault institutions create` printed, with the region it was created in');
    }
    const from = options.from ?? 0;
    if (from > cell.audit.size) {
      throw new CliError('EV_ERR_CLI_USAGE', `--from ${from} is past the log's ${cell.audit.size} entries`, `--from is 0 to ${cell.audit.size}`);
    }
    const exported = await cell.audit.export(from, options.institution);
    await writeAtomically(options.out, { overwrite: options.force ?? false }, async (file) => {
      const bytes = jsonBytes(exported);
      await new ReadableStream<Uint8Array>({ start: (c) => { c.enqueue(bytes); c.close(); } }).pipeTo(file.writable());
    });
    const report: AuditExportReport = {
      region: options.region,
      institution: options.institution ?? null,
      file: options.out,
      from,
      entries: exported.entries.length,
      redacted: exported.entries.filter((e) => 'redacted' in e).length,
      size: from + exported.entries.length,
      logKey: cell.audit.verifierKey,
    };
    await writeJson(report);
  });
}
