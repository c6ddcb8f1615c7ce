/**
 * The cell's checkpoint signing key file: created on first use, private (0600 in a 0700 folder),
 * reused, refused when others may read it or when it was edited. Its checkpoints are standard ECDSA
 * P-256 signatures over the note text: Node's own crypto (OpenSSL) verifies them from the published
 * verifier key line, so any auditor's tooling can too.
 */
import assert from 'node:assert/strict';
import { createVerify } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { signCheckpoint } from '../../../src/crypto/merkle/index.js';
import { isAuditError } from '../../../src/server/audit/errors.js';
import { LOG_KEY_FILE, defaultOrigin, openLogKey } from '../../../src/server/audit/log-key.js';

const dirs: string[] = [];
async function freshDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'examvault-logkey-'));
  dirs.push(d);
  return join(d, 'cell', 'audit');
}
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (e) {
    assert.ok(isAuditError(e), `expected an AuditError, got ${String(e)}`);
    return e.code;
  }
  assert.fail('expected a rejection');
}

describe('the log signing key file', () => {
  it('is created on first use, 0600 in a 0700 folder, and reused after', async () => {
    const dir = await freshDir();
    const origin = defaultOrigin('eu');
    assert.match(origin, /^examvault\/audit\/eu\/[0-9a-f]{16}$/);
    const signer = await openLogKey({ dir, origin });
    assert.equal(signer.name, origin);
    assert.equal((await stat(join(dir, LOG_KEY_FILE))).mode & 0o777, 0o600);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    const again = await openLogKey({ dir, origin: 'other.example/log' });
    assert.equal(again.verifierKey, signer.verifierKey);
    const file = JSON.parse(await readFile(join(dir, LOG_KEY_FILE), 'utf8')) as Record<string, string>;
    assert.deepEqual(Object.keys(file).sort(), ['createdAt', 'format', 'origin', 'privateKey', 'verifierKey']);
  });

  it('is created once when two open it at the same time', async () => {
    const dir = await freshDir();
    const keys = await Promise.all([1, 2, 3].map(() => openLogKey({ dir, origin: 'a.example/log' })));
    assert.equal(new Set(keys.map((k) => k.verifierKey)).size, 1);
  });

  it('is refused with EV_ERR_AUDIT_KEY_PERMISSIONS when group or others may access it', async () => {
    const dir = await freshDir();
    await openLogKey({ dir, origin: 'a.example/log' });
    await chmod(join(dir, LOG_KEY_FILE), 0o640);
    assert.equal(await codeOf(openLogKey({ dir, origin: 'a.example/log' })), 'EV_ERR_AUDIT_KEY_PERMISSIONS');
  });

  it('is refused with EV_ERR_AUDIT_KEY_FILE_MALFORMED when edited', async () => {
    const dir = await freshDir();
    const signer = await openLogKey({ dir, origin: 'a.example/log' });
    const path = join(dir, LOG_KEY_FILE);
    const file = JSON.parse(await readFile(path, 'utf8')) as Record<string, string>;
    const other = await openLogKey({ dir: await freshDir(), origin: 'a.example/log' });
    for (const bad of [
      'not json',
      JSON.stringify({ ...file, format: 'x' }),
      JSON.stringify({ ...file, origin: 'has space' }),
      JSON.stringify({ ...file, privateKey: 'AAAA' }),
      JSON.stringify({ ...file, verifierKey: other.verifierKey }),
      JSON.stringify({ ...file, origin: 'b.example/log' }),
    ]) {
      await writeFile(path, bad, { mode: 0o600 });
      assert.equal(await codeOf(openLogKey({ dir, origin: 'a.example/log' })), 'EV_ERR_AUDIT_KEY_FILE_MALFORMED', bad.slice(0, 40));
    }
    await writeFile(path, JSON.stringify(file), { mode: 0o600 });
    assert.equal((await openLogKey({ dir, origin: 'a.example/log' })).verifierKey, signer.verifierKey);
  });

  it('signs checkpoints that OpenSSL verifies from the verifier key line (DER signature, SPKI key)', async () => {
    const signer = await openLogKey({ dir: await freshDir(), origin: 'a.example/log' });
    const note = await signCheckpoint({ origin: 'a.example/log', size: 3, rootHash: new Uint8Array(32).fill(9), timestamp: 1 }, signer);
    const text = note.slice(0, note.lastIndexOf('\n\n') + 1);
    const signature = Buffer.from(note.trimEnd().split(' ').pop() as string, 'base64');
    const spki = Buffer.from(signer.verifierKey.split('+').slice(2).join('+'), 'base64').subarray(1);
    const verifier = createVerify('SHA256').update(text);
    assert.equal(verifier.verify({ key: spki, format: 'der', type: 'spki' }, signature.subarray(4)), true);
    assert.equal(signature.subarray(0, 4).toString('hex'), Buffer.from(signer.keyId).toString('hex'));
  });
});
