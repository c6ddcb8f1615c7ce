/**
 * The institution's everyday settings: exams (docs/EXAMS.md), assessment platforms and their API keys
 * (docs/INTEGRATION.md Part 2), LTI 1.3 platform registrations (docs/LTI.md) and how long recordings
 * are kept (docs/CUSTODY-SERVER.md "Deletion and retention"). Plain API calls with the staff session;
 * no key material is involved. Secrets the server shows once (a platform's API key and webhook
 * secret) are shown once here too, and kept nowhere.
 */
import { DEFAULT_SNAPSHOT_INTERVAL_SECONDS, type Exam, SNAPSHOT_INTERVAL_MAX_SECONDS, SNAPSHOT_INTERVAL_MIN_SECONDS } from '../../protocol/exams.js';
import type { Platform as LtiPlatform } from '../../protocol/lti.js';
import type { Platform, RegisteredPlatform } from '../../protocol/passcodes.js';
import { callJson } from '../shared/api.js';
import { button, el, showScreen } from '../shared/dom.js';
import { staffCall, staffJson } from '../shared/staff-session.js';
import type { Admin } from './custody.js';
import { passcodesScreen } from './passcodes.js';
import { APP, actionForm, field, submit, table, when } from './ui.js';

/** A destructive step asks first, on its own screen, with a way back. */
function confirmScreen(admin: Admin, title: string, words: string, verb: string, action: () => Promise<string>, back: () => Promise<void>): void {
  showScreen(admin.main, title, APP,
    el('p', {}, words),
    actionForm(admin.live, 'Working…', action, el('div', { class: 'actions' }, submit(verb), button('Back', () => void back().catch(() => undefined), { class: 'secondary' }))),
  );
}

export async function examsScreen(admin: Admin): Promise<void> {
  const { exams } = await callJson<{ exams: Exam[] }>('/v1/exams');
  const title = field('exam-title', 'Exam title', { maxlength: '200' }, 'Shown to test takers and staff. Do not put personal data in it.');
  const id = field('exam-id', 'Exam id (optional)', { maxlength: '64' }, 'Letters, digits, dots, dashes, underscores or colons. Leave empty for a random id.');
  const snapshots = field('exam-snapshots', 'Seconds between snapshots', { type: 'number', inputmode: 'numeric', min: '0', max: String(SNAPSHOT_INTERVAL_MAX_SECONDS), step: '1', value: String(DEFAULT_SNAPSHOT_INTERVAL_SECONDS) },
    `How often the recorder takes a still photo from the test taker's camera: ${SNAPSHOT_INTERVAL_MIN_SECONDS} to ${SNAPSHOT_INTERVAL_MAX_SECONDS} seconds, or 0 for none. Test takers are told before they start. It cannot be changed later.`);
  showScreen(admin.main, 'Exams', APP,
    exams.length === 0
      ? el('p', {}, 'No exam yet.')
      : table('Exams of your institution', ['Exam id', 'Title', 'Created', 'Passcodes'], exams.map((e) => [e.exam, e.title, when(e.createdAt),
        button(`Issue passcodes for ${e.title}`, () => passcodesScreen(admin, e, () => examsScreen(admin)), { class: 'secondary' })])),
    el('h2', {}, 'Create an exam'),
    actionForm(admin.live, 'Creating the exam…', async () => {
      // Sent as typed (an empty field: the server's default); the server says what it refuses.
      const every = snapshots.input.value.trim();
      const body = { title: title.input.value, ...(id.input.value.trim() ? { exam: id.input.value.trim() } : {}), ...(every ? { snapshotIntervalSeconds: Number(every) } : {}) };
      const created = await staffJson<Exam>(admin.me, '/v1/exams', { method: 'POST', json: body });
      await examsScreen(admin);
      return `Exam ${created.exam} is created.`;
    }, title.wrap, id.wrap, snapshots.wrap, el('div', { class: 'actions' }, submit('Create the exam'))),
  );
}

export async function platformsScreen(admin: Admin): Promise<void> {
  const { platforms } = await callJson<{ platforms: Platform[] }>('/v1/platforms');
  const name = field('platform-name', 'Platform name', { maxlength: '100' }, 'The organisation or product, never a person.');
  const webhook = field('platform-webhook', 'Webhook URL', { type: 'url' }, 'Where ExamVault sends signed notices. Must start with https://.');
  const shown = el('div', { id: 'platform-secrets' });
  showScreen(admin.main, 'Assessment platforms', APP,
    el('p', {}, 'An assessment platform uses its API key to create exams and one-time passcodes for test takers. Admins can also issue passcodes themselves, on the Exams screen.'),
    platforms.length === 0
      ? el('p', {}, 'No platform yet.')
      : table('Registered assessment platforms', ['Platform id', 'Name', 'Webhook URL', 'Created', 'Revocation'],
        platforms.map((p) => [p.platform, p.name, p.webhookUrl, when(p.createdAt), p.revokedAt ? when(p.revokedAt) : button(`Revoke ${p.name}`, () => confirmScreen(admin,
          `Revoke platform ${p.name}`, `Its API key stops working at once, its passcodes not yet used stop working too, and no more notices are sent to it. This cannot be undone: register it again for a new key.`,
          `Revoke ${p.name}`, async () => {
            await staffCall(admin.me, `/v1/platforms/${encodeURIComponent(p.platform)}`, { method: 'DELETE' });
            await platformsScreen(admin);
            return `Platform ${p.name} is revoked.`;
          }, () => platformsScreen(admin)), { class: 'secondary' })])),
    el('h2', {}, 'Register a platform'),
    actionForm(admin.live, 'Registering the platform…', async () => {
      const created = await staffJson<RegisteredPlatform>(admin.me, '/v1/platforms', { method: 'POST', json: { name: name.input.value, webhookUrl: webhook.input.value } });
      await platformsScreen(admin);
      // Drawn after the list is redrawn: these are the only copy, and must not vanish with it.
      const secrets = document.getElementById('platform-secrets') ?? shown;
      secrets.replaceChildren(
        el('h2', {}, `Keys for ${created.name}`),
        el('p', { class: 'warn' }, 'Copy these into the platform now. They are shown only this once; ExamVault keeps only a fingerprint of them.'),
        el('dl', {},
          el('dt', {}, 'API key'), el('dd', { class: 'secret', id: 'platform-api-key' }, created.apiKey),
          el('dt', {}, 'Webhook secret'), el('dd', { class: 'secret', id: 'platform-webhook-secret' }, created.webhookSecret)),
      );
      return `Platform ${created.name} is registered. Its API key is shown below, once.`;
    }, name.wrap, webhook.wrap, el('div', { class: 'actions' }, submit('Register the platform'))),
    shown,
  );
}

export async function ltiScreen(admin: Admin): Promise<void> {
  const { platforms } = await callJson<{ platforms: LtiPlatform[] }>('/v1/lti/platforms');
  const fields = {
    issuer: field('lti-issuer', 'Issuer', {}, 'The platform\'s issuer identifier, as your LMS shows it.'),
    clientId: field('lti-client-id', 'Client id'),
    deployments: field('lti-deployments', 'Deployment ids', {}, 'One or more, separated by commas.'),
    authEndpoint: field('lti-auth', 'Authentication request URL', { type: 'url' }),
    tokenEndpoint: field('lti-token', 'Access token URL', { type: 'url' }),
    jwksUrl: field('lti-jwks', 'Public keyset URL', { type: 'url' }),
  };
  showScreen(admin.main, 'LTI platforms', APP,
    el('p', {}, 'Register your learning management system (LTI 1.3) so that test takers and staff can start ExamVault from it. ExamVault keeps no names or e-mail addresses from it.'),
    platforms.length === 0
      ? el('p', {}, 'No LTI platform yet.')
      : table('Registered LTI platforms', ['Registration', 'Issuer', 'Client id', 'Deployments', 'Created', 'Actions'],
        platforms.map((p) => [p.platform, p.issuer, p.clientId, p.deploymentIds.join(', '), when(p.createdAt), button(`Remove ${p.issuer}`, () => confirmScreen(admin,
          `Remove LTI platform ${p.issuer}`, 'Launches from this platform stop working at once. Exams and recordings made through it stay.',
          `Remove ${p.issuer}`, async () => {
            await staffCall(admin.me, `/v1/lti/platforms/${encodeURIComponent(p.platform)}`, { method: 'DELETE' });
            await ltiScreen(admin);
            return `LTI platform ${p.issuer} is removed.`;
          }, () => ltiScreen(admin)), { class: 'secondary' })])),
    el('h2', {}, 'Register an LTI platform'),
    actionForm(admin.live, 'Registering the LTI platform…', async () => {
      const body = {
        issuer: fields.issuer.input.value.trim(),
        clientId: fields.clientId.input.value.trim(),
        deploymentIds: fields.deployments.input.value.split(',').map((d) => d.trim()).filter((d) => d !== ''),
        authEndpoint: fields.authEndpoint.input.value.trim(),
        tokenEndpoint: fields.tokenEndpoint.input.value.trim(),
        jwksUrl: fields.jwksUrl.input.value.trim(),
      };
      const created = await staffJson<LtiPlatform>(admin.me, '/v1/lti/platforms', { method: 'POST', json: body });
      await ltiScreen(admin);
      return `LTI platform ${created.issuer} is registered.`;
    }, ...Object.values(fields).map((f) => f.wrap), el('div', { class: 'actions' }, submit('Register the LTI platform'))),
  );
}

export async function retentionScreen(admin: Admin): Promise<void> {
  const { days: current } = await callJson<{ days: number | null }>('/v1/custody/retention');
  const days = field('retention-days', 'Keep recordings for (days)', { inputmode: 'numeric', value: current === null ? '' : String(current) },
    'A whole number of days, or leave empty to keep recordings until someone deletes them.');
  const words = (d: number | null) => (d === null ? 'Recordings are kept until someone deletes them.' : `Recordings are deleted ${d} days after they were made.`);
  const result = el('p', { id: 'retention-result' }, words(current));
  showScreen(admin.main, 'Retention', APP,
    el('p', {}, 'Recordings older than this are deleted for good: their keys are destroyed, so no copy, not even a backup, can be opened again. Each deletion is written to the audit log.'),
    actionForm(admin.live, 'Saving…', async () => {
      const text = days.input.value.trim();
      if (text !== '' && !/^\d+$/.test(text)) throw new Error('Type a whole number of days, or leave the field empty.');
      const answer = await staffJson<{ days: number | null }>(admin.me, '/v1/custody/retention', { method: 'PUT', json: { days: text === '' ? null : Number(text) } });
      result.textContent = words(answer.days);
      return words(answer.days);
    }, days.wrap, el('div', { class: 'actions' }, submit('Save retention'))),
    result,
  );
}
