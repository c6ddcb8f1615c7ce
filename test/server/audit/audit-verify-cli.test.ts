/**
 * Golden runs of `examvault audit verify` on an export the server's audit log wrote: the honest export
 * verifies (and with --since, against the checkpoint kept from the run before); one entry changed, one
 * checkpoint changed, one entry dropped, the wrong key or a damaged file each fail with exactly one
 * `error: … (CODE)` line, one `hint:` line and exit status 1 (2 for a usage error).
 */
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { auditLogErrorCodes, generateLogKeyPair, signerOf } from '../../../src/crypto/merkle/index.js';
import { auditErrorHints } from '../../../src/cli/commands/audit-verify.js';
import type { AuditLog } from '../../../src/server/audit/audit-log.js';
import { assertFailure, assertSuccess, cli } from '../../cli/support/run-cli.js';
import { type TestCell, event, testCell } from './support.js';

let c: TestCell;
let log: AuditLog;
let dir: string;
let keyFile: string;
let exported: Record<string, unknown>;

/** Writes `value` (JSON, or text as it is) to a new file in the test directory. */
async function file(name: string, value: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  return path;
}

function tampered(change: (e: { entries: Record<string, unknown>[]; checkpoints: { note: string }[] }) => void): unknown {
  const copy = structuredClone(exported) as { entries: Record<string, unknown>[]; checkpoints: { note: string }[] };
  change(copy);
  return copy;
}

before(async () => {
  c = await testCell();
  dir = c.dir;
  log = await c.openLog();
  for (let i = 0; i < 25; i++) {
    await log.append(event(i));
    if (i === 9 || i === 19) await log.checkpoint();
  }
  exported = JSON.parse(JSON.stringify(await log.export())) as Record<string, unknown>;
  keyFile = await file('log.pub', `${log.verifierKey}\n`);
});

after(async () => {
  await c.db.destroy();
  await rm(c.dir, { recursive: true, force: true });
});

describe('examvault audit verify', () => {
  it('verifies an honest export and, next time, its extension since the kept checkpoint', async () => {
    const run = await cli(['audit', 'verify', '--log', await file('export.json', exported), '--key', keyFile]);
    assertSuccess(run);
    const report = JSON.parse(run.stdout.toString('utf8')) as { verified: boolean; entries: number; checkpoints: number; latest: { size: number; note: string } };
    assert.deepEqual([report.verified, report.entries, report.checkpoints, report.latest.size], [true, 25, 3, 25]);

    const since = await file('kept.checkpoint', report.latest.note);
    for (let i = 25; i < 31; i++) await log.append(event(i));
    const next = await file('next.json', await log.export(25));
    const later = await cli(['audit', 'verify', '--log', next, '--key', keyFile, '--since', since]);
    assertSuccess(later);
    assert.deepEqual((JSON.parse(later.stdout.toString('utf8')) as { since: { size: number } }).since.size, 25);
  });

  it('fails with the code that says what was tampered with', async () => {
    const { privateKey, publicKey } = await generateLogKeyPair();
    const stranger = await file('stranger.pub', (await signerOf(log.origin, privateKey, publicKey)).verifierKey);
    const cases: [string, string[], string][] = [
      ['entry changed', ['--log', await file('t1.json', tampered((e) => ((e.entries[7] as { payload: Record<string, unknown> }).payload.recording = 'rec-x')))], 'EV_ERR_AUDIT_ENTRY_MODIFIED'],
      ['checkpoint changed', ['--log', await file('t2.json', tampered((e) => ((e.checkpoints[1] as { note: string }).note = (e.checkpoints[1] as { note: string }).note.replace('\n20\n', '\n19\n'))))], 'EV_ERR_AUDIT_BAD_SIGNATURE'],
      ['entry dropped', ['--log', await file('t3.json', tampered((e) => e.entries.splice(12, 1)))], 'EV_ERR_AUDIT_ENTRIES_MISSING'],
      ['last entry dropped', ['--log', await file('t4.json', tampered((e) => e.entries.pop()))], 'EV_ERR_AUDIT_ENTRIES_MISSING'],
      ['another log\'s key', ['--log', await file('ok.json', exported), '--key', stranger], 'EV_ERR_AUDIT_NOT_SIGNED'],
      ['not a key', ['--log', await file('ok2.json', exported), '--key', await file('bad.pub', 'hello')], 'EV_ERR_AUDIT_MALFORMED_KEY'],
      ['not an export', ['--log', await file('t5.json', { hello: 1 })], 'EV_ERR_AUDIT_EXPORT_MALFORMED'],
      ['not JSON', ['--log', await file('t6.json', '{')], 'EV_ERR_CLI_NOT_JSON'],
      ['no such file', ['--log', join(dir, 'missing.json')], 'EV_ERR_CLI_FILE_NOT_FOUND'],
    ];
    const runs = await Promise.all(cases.map(([, args]) => cli(['audit', 'verify', '--key', keyFile, ...args])));
    runs.forEach((run, i) => {
      const [name, , code] = cases[i] as [string, string[], string];
      assert.equal(run.stdout.length, 0, name);
      assertFailure(run, code, 1);
    });
  });

  it('needs --log and --key (a usage error)', async () => {
    assertFailure(await cli(['audit', 'verify', '--key', keyFile]), 'EV_ERR_CLI_USAGE', 2);
  });

  it('has a hint for every code of the verifier', () => {
    for (const code of auditLogErrorCodes) assert.ok(auditErrorHints[code].length > 10, code);
  });
});
