/**
 * Golden runs of `examvault admins invite`: the one-time setup link an operator prints for an
 * institution's first admin. The token is in the link's fragment and stored only as its SHA-256, in
 * the institution's own cell.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportPublicKey, generateEpochKeyPair, toBase64Url } from '../../src/crypto/index.js';
import { loadConfig } from '../../src/server/config.js';
import { createInstitution } from '../../src/server/institutions/institution.service.js';
import { openServices } from '../../src/server/services.js';
import { filesContaining, readAllFiles } from '../server/support/data-files.js';
import { assertFailure, assertSuccess, cli } from './support/run-cli.js';

let dataDir: string;
let institution: string;
const origin = 'https://exams.example.edu';

const invite = (args: readonly string[]) => cli(['admins', 'invite', ...args], { env: { EXAMVAULT_DATA_DIR: dataDir, EXAMVAULT_PUBLIC_ORIGIN: origin } });

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'examvault-admins-'));
  const services = await openServices(loadConfig({ env: { EXAMVAULT_DATA_DIR: dataDir }, cwd: dataDir }));
  try {
    const keys = await generateEpochKeyPair();
    institution = (await createInstitution(services.cells, services.directory, { name: 'Admin U', region: 'eu', epochPublicKey: toBase64Url(await exportPublicKey(keys.publicKey)) }, Date.now())).id;
  } finally {
    await services.close();
  }
});

after(() => rmSync(dataDir, { recursive: true, force: true }));

describe('examvault admins invite', () => {
  it('prints a one-time setup link with the token in its fragment, stored as its hash in the eu cell only', async () => {
    const started = Date.now();
    const run = await invite(['--institution', institution, '--ttl', '2h']);
    assertSuccess(run);
    const report = JSON.parse(run.stdout.toString('utf8')) as { setupUrl: string; institution: string; role: string; expiresAt: string };
    assert.deepEqual(Object.keys(report), ['setupUrl', 'institution', 'role', 'expiresAt']);
    assert.match(report.setupUrl, /^https:\/\/exams\.example\.edu\/staff\/setup#evi1\.eu\.[A-Za-z0-9_-]{43}$/);
    assert.equal(report.institution, institution);
    assert.equal(report.role, 'admin');
    const expires = Date.parse(report.expiresAt);
    assert.ok(expires >= started + 2 * 3600_000 && expires <= Date.now() + 2 * 3600_000, report.expiresAt);
    assert.match(run.stderr, /works once/);

    const token = new URL(report.setupUrl).hash.slice(1);
    const files = await readAllFiles(dataDir);
    assert.deepEqual(filesContaining(files, token.split('.')[2] as string), [], 'the token\'s secret part is stored');
    const holders = filesContaining(files, createHash('sha256').update(token).digest('hex'));
    assert.ok(holders.length > 0 && holders.every((p) => p.startsWith('cells/eu/')), holders.join(', '));
  });

  it('refuses an unknown institution and a lifetime outside 5 minutes to 7 days, with hints', async () => {
    const unknown = await invite(['--institution', 'inst-00000000000000000000']);
    assertFailure(unknown, 'EV_ERR_STAFF_WRONG_INSTITUTION', 1);
    assert.match(unknown.stderr, /hint: pass the id `examvault institutions create` printed/);
    for (const ttl of ['60', '8d']) {
      const run = await invite(['--institution', institution, '--ttl', ttl]);
      assertFailure(run, 'EV_ERR_STAFF_INVITE_INVALID', 1);
      assert.match(run.stderr, /hint: --ttl is 5 minutes to 7 days/);
    }
  });
});
