/**
 * `examvault lti platforms add|list|remove` and `examvault lti keys rotate|status`, run as the
 * operator would, on a real data directory: the registration goes through the API's checks, and a
 * key rotation keeps the old key published while a new one signs.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { exportPublicKey, generateEpochKeyPair, toBase64Url } from '../../src/crypto/index.js';
import { createInstitution } from '../../src/server/institutions/institution.service.js';
import { openServices } from '../../src/server/services.js';
import { cli } from './support/run-cli.js';

describe('examvault lti', () => {
  it('adds, lists and removes platform registrations, and rotates the tool keys', async (t) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'examvault-lti-cli-'));
    t.after(() => rm(dataDir, { recursive: true, force: true }));
    const env = { EXAMVAULT_DATA_DIR: dataDir, EXAMVAULT_REGIONS: 'eu' };
    const services = await openServices({ dataDir, regions: ['eu'] });
    const keys = await generateEpochKeyPair();
    const inst = await createInstitution(services.cells, services.directory, { name: 'CLI University', region: 'eu', epochPublicKey: toBase64Url(await exportPublicKey(keys.publicKey)) }, Date.now());
    await services.close();

    const platform = ['--institution', inst.id, '--issuer', 'https://canvas.instructure.com', '--client-id', '10000000000042', '--deployment', '1:abc', '--deployment', '2:def',
      '--auth-endpoint', 'https://sso.canvaslms.com/api/lti/authorize_redirect', '--token-endpoint', 'https://sso.canvaslms.com/login/oauth2/token',
      '--jwks-url', 'https://sso.canvaslms.com/api/lti/security/jwks', '--frame-origin', 'https://school.instructure.com'];
    const added = await cli(['lti', 'platforms', 'add', ...platform], { env });
    assert.equal(added.status, 0, added.stderr);
    const created = JSON.parse(added.stdout.toString()) as { platform: string; deploymentIds: string[]; keptClaims: string[] };
    assert.deepEqual(created.deploymentIds, ['1:abc', '2:def']);
    assert.deepEqual(created.keptClaims, []);
    const duplicate = await cli(['lti', 'platforms', 'add', ...platform], { env });
    assert.equal(duplicate.status, 1);
    assert.match(duplicate.stderr, /EV_ERR_LTI_PLATFORM_EXISTS/);
    const insecure = await cli(['lti', 'platforms', 'add', ...platform.map((a) => a.replace('https://sso.canvaslms.com/api/lti/security/jwks', 'http://lms.example/jwks')).map((a) => a.replace('10000000000042', 'other'))], { env });
    assert.match(insecure.stderr, /EV_ERR_LTI_INVALID_REQUEST/);
    const listed = JSON.parse((await cli(['lti', 'platforms', 'list', '--institution', inst.id], { env })).stdout.toString()) as { platforms: { platform: string }[] };
    assert.deepEqual(listed.platforms.map((p) => p.platform), [created.platform]);
    const removed = await cli(['lti', 'platforms', 'remove', '--institution', inst.id, '--platform', created.platform], { env });
    assert.equal(removed.status, 0, removed.stderr);
    assert.equal((JSON.parse((await cli(['lti', 'platforms', 'list', '--institution', inst.id], { env })).stdout.toString()) as { platforms: unknown[] }).platforms.length, 0);

    const first = JSON.parse((await cli(['lti', 'keys', 'status'], { env })).stdout.toString()) as { keys: { kid: string; retiredAt: string | null; published: boolean }[] };
    assert.equal(first.keys.length, 1);
    assert.equal(((await stat(join(dataDir, 'lti', 'tool-keys.json'))).mode & 0o777), 0o600);
    const rotated = await cli(['lti', 'keys', 'rotate'], { env });
    assert.equal(rotated.status, 0, rotated.stderr);
    assert.ok(!rotated.stdout.toString().includes('"d"'), 'no private key material is printed');
    const after = JSON.parse(rotated.stdout.toString()) as typeof first;
    assert.equal(after.keys.length, 2);
    assert.equal(after.keys.find((k) => k.kid === first.keys[0]?.kid)?.published, true, 'the old key stays published');
    assert.ok(after.keys.find((k) => k.kid === first.keys[0]?.kid)?.retiredAt);
    assert.equal(after.keys.filter((k) => k.retiredAt === null).length, 1);
  });
});
