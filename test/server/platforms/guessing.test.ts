/**
 * Online guessing: 10,000 wrong passcodes against one exam succeed zero times and are throttled after
 * the documented thresholds (docs/INTEGRATION.md, "Guessing"), through the real app with a clock the
 * test controls. Wrong passcodes are well-formed, with the exam's locator and a valid check
 * character, so every one of them is a real guess.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { LOCATOR_LENGTH, SECRET_LENGTH, composePasscode, formatPasscode, symbolsFrom } from '../../../src/protocol/passcode-format.js';
import { buildApp } from '../../../src/server/app.js';
import { openPasscodeKeys } from '../../../src/server/platforms/passcode-key.js';
import { registerPlatform } from '../../../src/server/platforms/platform.service.js';
import { ADDRESS_RULE, EXAM_RULE, addressKey } from '../../../src/server/platforms/throttle.js';
import { openServices } from '../../../src/server/services.js';
import { filesContaining, readAllFiles } from '../support/data-files.js';
import { type TestServer, startTestServer } from '../support/test-server.js';
import { createPlatformExam, dataDirWithInstitution, issuePasscode, redeem, registerTestPlatform } from './support.js';

const GUESSES = 10_000;

function wrongPasscodes(locator: string, n: number): string[] {
  return Array.from({ length: n }, () => formatPasscode(composePasscode(locator, randomBytes(SECRET_LENGTH))));
}

async function examWithPasscode(s: TestServer): Promise<{ passcode: string; locator: string }> {
  const inst = await s.institution('eu');
  const platform = await registerTestPlatform(s, inst);
  await createPlatformExam(s, platform, 'chem-101');
  const { passcode } = await issuePasscode(s, platform, 'chem-101');
  return { passcode, locator: passcode.replace(/-/g, '').slice(0, LOCATOR_LENGTH) };
}

/** Each guess's [status, code], and a tally. */
async function guess(s: TestServer, passcodes: readonly string[], address: (i: number) => string) {
  const answers: string[] = [];
  const tally = new Map<string, number>();
  for (const [i, p] of passcodes.entries()) {
    const r = await redeem(s, p, address(i));
    if (r.statusCode === 429) assert.ok(Number(r.retryAfter) > 0, 'a throttled answer says when to come back');
    const answer = `${r.statusCode} ${r.code ?? 'ok'}`;
    answers.push(answer);
    tally.set(answer, (tally.get(answer) ?? 0) + 1);
  }
  return { answers, tally: Object.fromEntries(tally) };
}

async function lockouts(s: TestServer): Promise<Array<Record<string, unknown>>> {
  await s.services.cells.get('eu')!.audit.idle();
  const rows = await s.services.cells.get('eu')!.db.selectFrom('audit_log').select(['type', 'payload']).where('type', '=', 'passcode.lockout').execute();
  return rows.map((r) => JSON.parse(Buffer.from(r.payload).toString('utf8')) as Record<string, unknown>);
}

describe('passcode guessing', () => {
  it(`${GUESSES} wrong passcodes from one address: none succeeds, throttled after ${ADDRESS_RULE.limit}`, async (t) => {
    const s = await startTestServer(t);
    const { passcode, locator } = await examWithPasscode(s);
    const { answers, tally } = await guess(s, wrongPasscodes(locator, GUESSES), () => '203.0.113.7');
    assert.deepEqual(tally, { '401 EV_ERR_PASSCODE_INVALID': ADDRESS_RULE.limit, '429 EV_ERR_PASSCODE_THROTTLED': GUESSES - ADDRESS_RULE.limit });
    assert.ok(answers.slice(0, ADDRESS_RULE.limit).every((a) => a.startsWith('401')), 'the first guesses are looked at');
    assert.deepEqual(await lockouts(s), [{ exam: 'chem-101', scope: 'address', failures: ADDRESS_RULE.limit, lockedUntil: s.now + ADDRESS_RULE.lockMs }]);

    // Locked means locked: the right passcode too, until the lock ends; another address is not locked.
    assert.equal((await redeem(s, passcode, '203.0.113.7')).statusCode, 429);
    s.now += ADDRESS_RULE.lockMs;
    assert.equal((await redeem(s, passcode, '203.0.113.7')).statusCode, 200);
  });

  it(`${GUESSES} wrong passcodes from ${GUESSES} addresses: none succeeds, the exam locks after ${EXAM_RULE.limit}`, async (t) => {
    const s = await startTestServer(t);
    const { passcode, locator } = await examWithPasscode(s);
    const address = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    const { tally } = await guess(s, wrongPasscodes(locator, GUESSES), address);
    assert.deepEqual(tally, { '401 EV_ERR_PASSCODE_INVALID': EXAM_RULE.limit, '429 EV_ERR_PASSCODE_THROTTLED': GUESSES - EXAM_RULE.limit });
    assert.deepEqual(await lockouts(s), [{ exam: 'chem-101', scope: 'exam', failures: EXAM_RULE.limit, lockedUntil: s.now + EXAM_RULE.lockMs }]);

    assert.equal((await redeem(s, passcode, '192.0.2.1')).statusCode, 429, 'the exam is locked for everyone');
    s.now += EXAM_RULE.lockMs;
    assert.equal((await redeem(s, passcode, '192.0.2.1')).statusCode, 200);
  });

  it('answers a guess at an exam that does not exist exactly as one at an exam that does', async (t) => {
    const s = await startTestServer(t);
    const { locator } = await examWithPasscode(s);
    const nowhere = symbolsFrom(randomBytes(LOCATOR_LENGTH));
    const address = (i: number) => `172.16.${(i >> 8) & 255}.${i & 255}`;
    const n = EXAM_RULE.limit + 20;
    const real = await guess(s, wrongPasscodes(locator, n), address);
    const none = await guess(s, wrongPasscodes(nowhere, n), (i) => address(i + n));
    assert.deepEqual(none.answers, real.answers);
    const [a, b] = await Promise.all([redeem(s, wrongPasscodes(locator, 1)[0] as string), redeem(s, wrongPasscodes(nowhere, 1)[0] as string)]);
    assert.deepEqual(a, b);
  });

  it('keeps lockouts across a restart, without the address', async (t) => {
    const { dataDir, config, institution } = await dataDirWithInstitution();
    const clock = { now: Date.now() };
    const options = { clock: () => clock.now };
    let services = await openServices(config, options);
    let app = buildApp(config, services);
    const closeAll = async () => {
      await app.close();
      await services.close();
    };
    const platform = await registerPlatform(services.cells.get('eu')!, await openPasscodeKeys(dataDir, ['eu']), { institution, createdBy: null, body: { name: 'P', webhookUrl: 'https://assess.example.org/hooks' }, allowLoopbackWebhooks: false }, clock.now);
    const key = { authorization: `Bearer ${platform.apiKey}` };
    assert.equal((await app.inject({ method: 'POST', url: '/v1/platform/exams', headers: key, payload: { exam: 'chem-101', title: 'Chemistry' } })).statusCode, 201);
    const issue = async () => (await app.inject({ method: 'POST', url: '/v1/platform/exams/chem-101/passcodes', headers: key, payload: {} })).json<{ passcode: string }>().passcode;
    const [first, second] = [await issue(), await issue()];
    const locator = first.replace(/-/g, '').slice(0, LOCATOR_LENGTH);
    const send = async (passcode: string, remoteAddress: string) => (await app.inject({ method: 'POST', url: '/v1/passcodes/redeem', payload: { passcode }, remoteAddress })).statusCode;
    const guesser = '198.51.100.23';
    // The address runs out first (its budget, and 10 of the exam's), then 90 more addresses run out the exam's.
    for (const p of wrongPasscodes(locator, ADDRESS_RULE.limit)) assert.equal(await send(p, guesser), 401);
    for (const [i, p] of wrongPasscodes(locator, EXAM_RULE.limit - ADDRESS_RULE.limit).entries()) assert.equal(await send(p, `10.9.0.${i + 1}`), 401);
    assert.equal(await send(first, '192.0.2.50'), 429);
    await closeAll();

    services = await openServices(config, options);
    app = buildApp(config, services);
    t.after(closeAll);
    assert.equal(await send(first, '192.0.2.50'), 429, 'the exam is still locked after the restart');
    clock.now += EXAM_RULE.lockMs;
    assert.equal(await send(first, guesser), 429, 'the address is still locked after the restart');
    assert.equal(await send(first, '192.0.2.50'), 200, 'the exam lock ended');
    clock.now += ADDRESS_RULE.lockMs - EXAM_RULE.lockMs;
    assert.equal(await send(second, guesser), 200, 'the address lock ended');
    // Kept as keyed hashes: no byte of the data directory names the guesser's address.
    assert.deepEqual(filesContaining(await readAllFiles(dataDir), guesser), []);
    const kept = await services.cells.get('eu')!.db.selectFrom('passcode_lockouts').selectAll().execute();
    assert.ok(kept.length >= 1 && kept.every((r) => /^[0-9a-f]{64}$/.test(r.key_hash)));
  });

  it('counts an IPv6 client by its /64', () => {
    assert.equal(addressKey('2001:db8:1:2:aaaa::1'), addressKey('2001:0db8:0001:0002:ffff:1:2:3'));
    assert.notEqual(addressKey('2001:db8:1:2::1'), addressKey('2001:db8:1:3::1'));
    assert.equal(addressKey('::ffff:192.0.2.1'), '192.0.2.1');
    assert.equal(addressKey('192.0.2.1'), '192.0.2.1');
  });
});
