/**
 * Webhooks to assessment platforms: delivered from the durable outbox to a real HTTP receiver on
 * loopback, signed as docs/INTEGRATION.md says (checked here with node:crypto, independently of the
 * server's signing code), refused when replayed by the documented receiver helper, retried with
 * backoff, and kept across a restart.
 */
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { describe, it } from 'node:test';
import { WebhookReplayGuard, type WebhookEvent, verifyWebhook } from '../../../src/protocol/webhook-signature.js';
import { buildApp } from '../../../src/server/app.js';
import { openPasscodeKeys } from '../../../src/server/platforms/passcode-key.js';
import { registerPlatform } from '../../../src/server/platforms/platform.service.js';
import { RETRY_BASE_MS } from '../../../src/server/platforms/webhook-outbox.js';
import { openServices } from '../../../src/server/services.js';
import { octets, bearer, startTestServer } from '../support/test-server.js';
import { type Delivery, createPlatformExam, dataDirWithInstitution, issuePasscode, redeem, registerTestPlatform, webhookReceiver } from './support.js';

/** The signature check a platform could write in any language: HMAC-SHA256(secret, timestamp "." body), hex. */
function independentlyVerified(secret: string, delivery: Delivery): boolean {
  const timestamp = delivery.headers['examvault-webhook-timestamp'] as string;
  const sent = Buffer.from(String(delivery.headers['examvault-webhook-signature']).replace(/^v1=/, ''), 'hex');
  const expected = createHmac('sha256', secret).update(`${timestamp}.${delivery.body}`).digest();
  return sent.length === expected.length && timingSafeEqual(sent, expected);
}

describe('platform webhooks', () => {
  it('attempt.started and recording.completed arrive signed; a replay is refused by the receiver helper', async (t) => {
    const s = await startTestServer(t);
    const receiver = await webhookReceiver(t);
    const inst = await s.institution('eu');
    const platform = await registerTestPlatform(s, inst, receiver.url);
    await createPlatformExam(s, platform, 'chem-101');
    const issued = await issuePasscode(s, platform, 'chem-101', { attempt: 'attempt-0001' });
    const redeemed = await redeem(s, issued.passcode);
    assert.equal(redeemed.statusCode, 200);
    // Redeeming wakes the dispatcher; deliverDue runs after its round, so the event is out by then.
    await s.services.webhooks.deliverDue();
    assert.equal(receiver.deliveries.length, 1);

    const started = receiver.deliveries[0] as Delivery;
    assert.equal(started.headers['content-type'], 'application/json');
    assert.ok(independentlyVerified(platform.webhookSecret, started), 'the HMAC recomputed with node:crypto matches');
    assert.ok(!independentlyVerified(`${platform.webhookSecret}x`, started));
    assert.equal(Number(started.headers['examvault-webhook-timestamp']), Math.floor(s.now / 1000));
    const guard = new WebhookReplayGuard();
    const verify = (d: Delivery, now = s.now, replayGuard = guard) => verifyWebhook({ secret: platform.webhookSecret, headers: d.headers, body: d.body, now, replayGuard });
    const event = await verify(started);
    assert.deepEqual({ type: event.type, data: event.data }, { type: 'attempt.started', data: { institution: inst.id, exam: 'chem-101', attempt: 'attempt-0001' } });
    assert.equal(event.id, started.headers['examvault-webhook-id']);

    // Replayed at once: the id was seen. Replayed later: the timestamp is stale, even to a receiver that forgot the id.
    await assert.rejects(verify(started), { code: 'EV_ERR_WEBHOOK_REPLAYED' });
    await assert.rejects(verify(started, s.now + 301_000, new WebhookReplayGuard()), { code: 'EV_ERR_WEBHOOK_STALE' });
    await assert.rejects(verify({ ...started, body: started.body.replace('attempt-0001', 'attempt-0002') }, s.now, new WebhookReplayGuard()), { code: 'EV_ERR_WEBHOOK_BAD_SIGNATURE' });
    const restamped = { ...started, headers: { ...started.headers, 'examvault-webhook-timestamp': String(Math.floor(s.now / 1000) + 1) } };
    await assert.rejects(verify(restamped, s.now, new WebhookReplayGuard()), { code: 'EV_ERR_WEBHOOK_BAD_SIGNATURE' });

    // The test taker records; completing the recording tells the platform, once however often it is repeated.
    const attempt = { token: redeemed.body.token, institution: inst, exam: 'chem-101', attempt: 'attempt-0001' };
    const sealer = await s.sealer(attempt, 'rec-cam');
    assert.equal((await s.app.inject({ method: 'POST', url: '/v1/recordings', headers: octets(attempt.token), payload: Buffer.from(sealer.header.bytes) })).statusCode, 201);
    const segment = await sealer.sealNext(new Uint8Array(1000).fill(1), true);
    assert.equal((await s.app.inject({ method: 'PUT', url: '/v1/recordings/rec-cam/segments/0', headers: octets(attempt.token), payload: Buffer.from(segment) })).statusCode, 201);
    for (let i = 0; i < 2; i++) {
      const done = await s.app.inject({ method: 'POST', url: '/v1/recordings/rec-cam/complete', headers: bearer(attempt.token), payload: { segmentCount: 1 } });
      assert.equal(done.statusCode, 200, done.body);
    }
    await s.services.webhooks.deliverDue();
    assert.equal(receiver.deliveries.length, 2);
    const completed = receiver.deliveries[1] as Delivery;
    assert.ok(independentlyVerified(platform.webhookSecret, completed));
    const completion = await verify(completed);
    assert.deepEqual({ type: completion.type, data: completion.data }, {
      type: 'recording.completed',
      data: { institution: inst.id, exam: 'chem-101', attempt: 'attempt-0001', recording: 'rec-cam', track: 'camera', segmentCount: 1 },
    });

    // An attempt that did not come from a passcode sends nothing.
    const other = await s.attempt(inst);
    const sealer2 = await s.sealer(other, 'rec-other');
    await s.app.inject({ method: 'POST', url: '/v1/recordings', headers: octets(other.token), payload: Buffer.from(sealer2.header.bytes) });
    await s.app.inject({ method: 'PUT', url: '/v1/recordings/rec-other/segments/0', headers: octets(other.token), payload: Buffer.from(await sealer2.sealNext(new Uint8Array(10), true)) });
    assert.equal((await s.app.inject({ method: 'POST', url: '/v1/recordings/rec-other/complete', headers: bearer(other.token), payload: { segmentCount: 1 } })).statusCode, 200);
    await s.services.webhooks.deliverDue();
    assert.equal(receiver.deliveries.length, 2);
  });

  it('retries a failed delivery with backoff, with the same event id', async (t) => {
    const s = await startTestServer(t);
    const receiver = await webhookReceiver(t);
    const inst = await s.institution('eu');
    const platform = await registerTestPlatform(s, inst, receiver.url);
    await createPlatformExam(s, platform, 'chem-101');
    receiver.status = 500;
    assert.equal((await redeem(s, (await issuePasscode(s, platform, 'chem-101')).passcode)).statusCode, 200);
    await s.services.webhooks.deliverDue();
    const tried = receiver.deliveries.length;
    assert.equal(tried, 1, 'one attempt, then the backoff');
    // Not due again before the backoff.
    s.now += RETRY_BASE_MS - 1000;
    assert.equal(await s.services.webhooks.deliverDue(), 0);
    assert.equal(receiver.deliveries.length, tried);
    receiver.status = 200;
    s.now += 1000;
    await s.services.webhooks.deliverDue();
    assert.equal(receiver.deliveries.length, tried + 1);
    const ids = new Set(receiver.deliveries.map((d) => d.headers['examvault-webhook-id']));
    assert.equal(ids.size, 1, 'every attempt carries the same event id');
    // Each attempt is signed at its own time: the last one verifies now.
    await verifyWebhook({ secret: platform.webhookSecret, headers: receiver.deliveries.at(-1)!.headers, body: receiver.deliveries.at(-1)!.body, now: s.now });
    const row = await s.services.cells.get('eu')!.db.selectFrom('webhook_outbox').selectAll().executeTakeFirstOrThrow();
    assert.ok(row.delivered_at !== null && Number(row.attempts) === tried + 1);
  });

  it('keeps undelivered events across a restart and delivers them after', async (t) => {
    const { dataDir, config, institution } = await dataDirWithInstitution();
    const clock = { now: Date.now() };
    const options = { clock: () => clock.now, webhooks: { allowLoopback: true } };
    const receiver = await webhookReceiver(t);
    receiver.status = 503;

    let services = await openServices(config, options);
    let app = buildApp(config, services);
    const cell = services.cells.get('eu')!;
    const platform = await registerPlatform(cell, await openPasscodeKeys(dataDir, ['eu']), { institution, createdBy: null, body: { name: 'P', webhookUrl: receiver.url }, allowLoopbackWebhooks: true }, clock.now);
    const key = { authorization: `Bearer ${platform.apiKey}` };
    assert.equal((await app.inject({ method: 'POST', url: '/v1/platform/exams', headers: key, payload: { exam: 'chem-101', title: 'Chemistry' } })).statusCode, 201);
    const issued = (await app.inject({ method: 'POST', url: '/v1/platform/exams/chem-101/passcodes', headers: key, payload: {} })).json<{ passcode: string }>();
    assert.equal((await app.inject({ method: 'POST', url: '/v1/passcodes/redeem', payload: { passcode: issued.passcode } })).statusCode, 200);
    await services.webhooks.deliverDue();
    await app.close();
    await services.close();
    const refused = receiver.deliveries.length;
    assert.ok(refused >= 1, 'delivery was tried and refused before the restart');

    receiver.status = 204;
    clock.now += 10 * 60_000;
    services = await openServices(config, options);
    app = buildApp(config, services);
    // Closed here, not in an after hook: the data directory's removal (an earlier hook) must not race
    // the cell's commit worker, and a failed assertion must still close it.
    try {
      await services.webhooks.deliverDue();
      assert.equal(receiver.deliveries.length, refused + 1);
      const last = receiver.deliveries.at(-1)!;
      const event: WebhookEvent = await verifyWebhook({ secret: platform.webhookSecret, headers: last.headers, body: last.body, now: clock.now });
      assert.equal(event.type, 'attempt.started');
      await services.webhooks.deliverDue();
      assert.equal(receiver.deliveries.length, refused + 1, 'delivered once');
    } finally {
      await app.close();
      await services.close();
    }
  });
});
