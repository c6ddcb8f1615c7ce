/**
 * Golden runs of `examvault audit export` against a real data directory, then `examvault audit verify`
 * on what it wrote (the round trip an operator and an auditor make): the whole log, and one
 * institution's view with the other institutions' entries redacted, both verify; a changed entry, a
 * changed or dropped redacted leaf, and a dropped entry are each caught with the verifier's code.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportPublicKey, generateEpochKeyPair, toBase64Url } from '../../src/crypto/index.js';
import { loadConfig } from '../../src/server/config.js';
import { createInstitution } from '../../src/server/institutions/institution.service.js';
import { openServices } from '../../src/server/services.js';
import { type Run, assertFailure, assertSuccess, cli } from './support/run-cli.js';

let dir: string;
let dataDir: string;
let keyFile: string;
let institutions: { a: string; b: string };
let logged: { institution: string | null }[];

function file(name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

function operator(args: readonly string[]): Promise<Run> {
  return cli(args, { env: { EXAMVAULT_DATA_DIR: dataDir } });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'examvault-audit-export-'));
  dataDir = join(dir, 'data');
  // A cell with two institutions' events and the cell's own, over two checkpoints.
  const services = await openServices(loadConfig({ env: { EXAMVAULT_DATA_DIR: dataDir }, cwd: dir }));
  try {
    const create = async (name: string) => {
      const keys = await generateEpochKeyPair();
      return (await createInstitution(services.cells, services.directory, { name, region: 'eu', epochPublicKey: toBase64Url(await exportPublicKey(keys.publicKey)) }, Date.now())).id;
    };
    institutions = { a: await create('A University'), b: await create('B University') };
    const cell = services.cells.get('eu');
    assert.ok(cell);
    for (let i = 0; i < 24; i++) {
      const institution = i % 6 === 5 ? null : i % 2 === 0 ? institutions.a : institutions.b;
      await cell.audit.append({ institution, type: 'recording.unlocked', payload: { member: `rev-${i % 3}`, recording: `rec-${i}`, epoch: 1 } });
      if (i === 9 || i === 17) await cell.audit.checkpoint();
    }
    logged = (await cell.db.selectFrom('audit_log').select('institution_id').orderBy('seq').execute()).map((r) => ({ institution: r.institution_id }));
    // The key an auditor pins comes from the operator, out of band: here, straight from the cell.
    keyFile = file('eu-audit.pub', `${cell.audit.verifierKey}\n`);
  } finally {
    await services.close();
  }
});

after(() => rmSync(dir, { recursive: true, force: true }));

async function verify(path: string): Promise<Run> {
  return cli(['audit', 'verify', '--log', path, '--key', keyFile]);
}

describe('examvault audit export', () => {
  it('writes the whole log, which audit verify checks', async () => {
    const out = join(dir, 'all.json');
    const run = await operator(['audit', 'export', '--region', 'eu', '-o', out]);
    assertSuccess(run);
    const report = JSON.parse(run.stdout.toString('utf8')) as { entries: number; redacted: number; size: number; logKey: string; institution: string | null };
    assert.deepEqual([report.entries, report.redacted, report.size, report.institution], [logged.length, 0, logged.length, null]);
    assert.equal(`${report.logKey}\n`, readFileSync(keyFile, 'utf8'));
    const checked = await verify(out);
    assertSuccess(checked);
    const verified = JSON.parse(checked.stdout.toString('utf8')) as { verified: boolean; entries: number; checkpoints: number; redactedEntries: number; unverifiedEntries: number };
    assert.deepEqual([verified.verified, verified.entries, verified.checkpoints, verified.redactedEntries, verified.unverifiedEntries], [true, logged.length, 3, 0, 0]);
    // An existing file is not replaced without --force.
    assertFailure(await operator(['audit', 'export', '--region', 'eu', '-o', out]), 'EV_ERR_CLI_FILE_EXISTS', 1);
    assertSuccess(await operator(['audit', 'export', '--region', 'eu', '-o', out, '--force']));
  });

  it('writes one institution\'s view, the others redacted, which verifies; tampering is caught', async () => {
    const out = join(dir, 'a.json');
    const run = await operator(['audit', 'export', '--region', 'eu', '--institution', institutions.a, '-o', out]);
    assertSuccess(run);
    const others = logged.filter((e) => e.institution === institutions.b).length;
    assert.equal((JSON.parse(run.stdout.toString('utf8')) as { redacted: number }).redacted, others);
    const text = readFileSync(out, 'utf8');
    assert.ok(!text.includes(institutions.b), 'no trace of the other institution');
    const checked = await verify(out);
    assertSuccess(checked);
    assert.equal((JSON.parse(checked.stdout.toString('utf8')) as { redactedEntries: number }).redactedEntries, others);

    const exported = JSON.parse(text) as { entries: Record<string, unknown>[] };
    const shown = exported.entries.findIndex((e) => e.institution === institutions.a);
    const hidden = exported.entries.findIndex((e) => e.redacted === true);
    const tamper = (name: string, change: (entries: Record<string, unknown>[]) => void) => {
      const copy = structuredClone(exported);
      change(copy.entries);
      return file(name, copy);
    };
    const cases: [string, string][] = [
      [tamper('t1.json', (e) => ((e[shown] as { payload: Record<string, unknown> }).payload.member = 'rev-9')), 'EV_ERR_AUDIT_ENTRY_MODIFIED'],
      [tamper('t2.json', (e) => ((e[hidden] as { leafHash: string }).leafHash = (e[shown] as { leafHash: string }).leafHash)), 'EV_ERR_AUDIT_ROOT_MISMATCH'],
      [tamper('t3.json', (e) => e.splice(hidden, 1)), 'EV_ERR_AUDIT_ENTRIES_MISSING'],
      // A shown entry passed off as redacted: its leaf still counts, but a redacted entry carries nothing else.
      [tamper('t4.json', (e) => ((e[hidden] as { institution: string }).institution = institutions.a)), 'EV_ERR_AUDIT_EXPORT_MALFORMED'],
    ];
    const runs = await Promise.all(cases.map(([path]) => verify(path)));
    runs.forEach((r, i) => assertFailure(r, (cases[i] as [string, string])[1], 1));
  });

  it('refuses an institution not in the region, and a bad --from', async () => {
    assertFailure(await operator(['audit', 'export', '--region', 'eu', '--institution', 'inst-nope', '-o', join(dir, 'x.json')]), 'EV_ERR_CLI_NO_DATA', 1);
    assertFailure(await operator(['audit', 'export', '--region', 'eu', '--from', '-3', '-o', join(dir, 'y.json')]), 'EV_ERR_CLI_USAGE', 2);
    assertFailure(await operator(['audit', 'export', '--region', 'eu', '--from', '999', '-o', join(dir, 'z.json')]), 'EV_ERR_CLI_USAGE');
  });
});
