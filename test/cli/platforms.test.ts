/** Golden runs of `examvault platforms register` and `platforms revoke` on a real data directory. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RegisteredPlatform } from '../../src/protocol/passcodes.js';
import { dataDirWithInstitution } from '../server/platforms/support.js';
import { assertFailure, assertSuccess, cli } from './support/run-cli.js';

describe('examvault platforms', () => {
  it('registers a platform once, refuses bad input with a hint, and revokes it', async () => {
    const { dataDir, institution } = await dataDirWithInstitution();
    const inst = { id: institution };
    const env = { EXAMVAULT_DATA_DIR: dataDir };
    const register = (...extra: string[]) => cli(['platforms', 'register', '--name', 'Example Assessments', ...extra], { env });

    const ok = await register('--institution', inst.id, '--webhook-url', 'https://assess.example.org/hooks');
    assertSuccess(ok);
    const platform = JSON.parse(ok.stdout.toString('utf8')) as RegisteredPlatform;
    assert.match(platform.apiKey, /^evp1\.eu\./);
    assert.match(ok.stderr, /shown only this once/);

    assertFailure(await register('--institution', inst.id, '--webhook-url', 'http://assess.example.org/hooks'), 'EV_ERR_PLATFORM_INVALID_REQUEST');
    assertFailure(await register('--institution', 'inst-nope', '--webhook-url', 'https://assess.example.org/hooks'), 'EV_ERR_API_NOT_FOUND');
    assertFailure(await cli(['platforms', 'revoke', '--institution', inst.id, '--platform', 'plat-nope'], { env }), 'EV_ERR_PLATFORM_NOT_FOUND');

    const revoked = await cli(['platforms', 'revoke', '--institution', inst.id, '--platform', platform.platform], { env });
    assertSuccess(revoked);
    assert.deepEqual(JSON.parse(revoked.stdout.toString('utf8')), { platform: platform.platform, institution: inst.id, revoked: true });
  });
});
