/**
 * Institution set-up by its first admin (docs/CUSTODY-SERVER.md "Admins: set-up and enrolment"), in
 * the page. The operator created the institution in its region (for life), and either
 *
 * - without an epoch key (`examvault institutions create --no-epoch-key`, the default path here): the
 *   page generates the epoch-1 key pair, so no one at the vendor ever holds its private key; or
 * - with one, and handed the admin its key file (passphrase-protected, docs/SPEC.md §9), which must
 *   hold the private key of the epoch key the server stores.
 *
 * Then a recovery secret is generated and the set-up made from it (src/crypto/custody/set-up.ts, as
 * `examvault custody recovery-key` does): institution statement, the admin's enrolment, the epoch
 * statement, the epoch key granted to the recovery key and to the admin; `PUT /v1/custody/recovery`
 * (which, for a key-less institution, stores the public key the epoch statement names). Only once
 * the server accepted it is the recovery key shown, once, with a warning. Neither the recovery secret
 * nor the epoch private key is stored or shown: the secret's bytes are wiped, the generated key
 * leaves the page only sealed in the two grants, and the recovery key's screen is replaced when the
 * admin goes on.
 */
import {
  createInstitutionSetUp,
  exportPublicKey,
  setUpBody,
  formatRecoveryKey,
  fromBase64Url,
  generateEpochKeyPair,
  generateRecoverySecret,
  toBase64Url,
  unlockPrivateKey,
} from '../../crypto/index.js';
import type { EpochResponse, SetUpRequest } from '../../protocol/custody.js';
import { regionName } from '../recorder/words.js';
import { el, showScreen } from '../shared/dom.js';
import { staffJson } from '../shared/staff-session.js';
import { type Admin, rootPin } from './custody.js';
import { pin } from './pins.js';
import { APP, actionForm, field, submit } from './ui.js';

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The current epoch's key pair the set-up grants: generated here, or opened from the operator's key file. */
interface SetUpEpochKey {
  readonly epoch: number;
  readonly privateKey: CryptoKey;
  readonly publicKey: Uint8Array;
}

/**
 * `served`: GET /v1/custody/epoch's answer, or null when the server said the institution has no
 * epoch key yet (EV_ERR_CUSTODY_NOT_SET_UP): then the page generates it.
 */
export function setUpScreen(admin: Admin, served: EpochResponse | null, done: () => void): void {
  const { me, live, main } = admin;
  const finish = (epochKey: SetUpEpochKey) => setUp(admin, epochKey, done);
  const screen = (aboutKey: string, form: HTMLElement) => showScreen(main, 'Set up your institution', APP,
    el('h2', {}, 'Where your data is kept'),
    el('p', { id: 'region-statement' }, `Your institution's recordings and records are kept in ${regionName(me.region)} (region “${me.region}”). `
      + 'This was chosen when your operator created the institution, and it is final: it cannot be changed later.'),
    el('h2', {}, 'The institution\'s key'),
    el('p', {}, `Recordings are locked to the institution's key. ${aboutKey}`),
    form);
  if (served === null) {
    const generate = actionForm(live, 'Setting up the institution…', async () => {
      const pair = await generateEpochKeyPair();
      return finish({ epoch: 1, privateKey: pair.privateKey, publicKey: await exportPublicKey(pair.publicKey) });
    }, el('div', { class: 'actions' }, submit('Set up the institution')));
    screen('Setting up creates it now, in this page: you and a new recovery key get your own sealed copies, '
      + 'and the server is given only its public half. No one else ever holds it.', generate);
    return;
  }
  const keyFile = el('input', { id: 'epoch-key-file', name: 'epoch-key-file', type: 'file', accept: '.key,.json,application/json', 'aria-describedby': 'epoch-key-file-hint' });
  const passphrase = field('epoch-key-passphrase', 'Passphrase of the epoch key file', { type: 'password', autocomplete: 'off' });
  const fromFile = actionForm(live, 'Setting up the institution…', async () => {
    const file = keyFile.files?.[0];
    if (!file) throw new Error('Choose the epoch key file your operator gave you.');
    let json: unknown;
    try {
      json = JSON.parse(await file.text());
    } catch {
      throw new Error('This file is not an ExamVault key file.');
    }
    const epochKey = await unlockPrivateKey(json, passphrase.input.value);
    const servedKey = fromBase64Url(served.publicKey);
    if (!servedKey || !sameBytes(servedKey, epochKey.publicKey)) {
      throw new Error(`This key file does not hold the key the server has for epoch ${served.epoch}. Ask your operator for the right file.`);
    }
    return finish({ epoch: served.epoch, privateKey: epochKey.privateKey, publicKey: epochKey.publicKey });
  },
  el('label', { for: 'epoch-key-file' }, 'Epoch key file'),
  el('p', { id: 'epoch-key-file-hint', class: 'hint' }, 'The file whose name ends in .key that your operator gave you.'),
  keyFile,
  passphrase.wrap,
  el('div', { class: 'actions' }, submit('Set up the institution')));
  screen('Your operator created it with the institution and gave you its key file and passphrase. '
    + 'Setting up gives you, and a new recovery key, your own copies; the key file is then no longer needed here.', fromFile);
}

/** Makes and sends the set-up with a new recovery secret; on success shows the recovery key once. */
async function setUp(admin: Admin, epochKey: SetUpEpochKey, done: () => void): Promise<string> {
  const { me } = admin;
  const secret = generateRecoverySecret();
  try {
    const setUp = await createInstitutionSetUp({
      institution: me.institution, admin: me.staffId, adminKeys: admin.keys.registration, adminSigningKey: admin.keys.signingPrivateKey,
      epoch: epochKey.epoch, epochPrivateKey: epochKey.privateKey, epochPublicKey: epochKey.publicKey, recoverySecret: secret,
    });
    const body: SetUpRequest = setUpBody(setUp);
    await staffJson(me, '/v1/custody/recovery', { method: 'PUT', json: body });
    const fingerprint = toBase64Url(setUp.recoveryFingerprint);
    await pin(rootPin(me.institution), fingerprint);
    recoveryKeyScreen(admin, await formatRecoveryKey(secret), fingerprint, done);
  } finally {
    secret.fill(0);
  }
  return 'The institution is set up. Your recovery key is shown once: save it now.';
}

/**
 * The recovery key, once. Going on needs the admin to say it is saved; the screen that follows
 * replaces this one, so the key leaves the page with it.
 */
function recoveryKeyScreen(admin: Admin, recoveryKey: string, fingerprint: string, done: () => void): void {
  const saved = el('input', { id: 'recovery-saved', type: 'checkbox' });
  showScreen(admin.main, 'Your institution\'s recovery key', APP,
    el('p', { class: 'warn' }, 'This is shown only once. Print it or write it down now, and keep it somewhere safe and offline, such as a locked safe.'),
    el('p', {}, 'If every admin loses their keys, this recovery key is the only way to reach your institution\'s recordings again. '
      + 'Anyone who has it can make themselves an admin, so do not store it on this computer, in e-mail or in a chat.'),
    el('p', { class: 'recovery-key', id: 'recovery-key' }, recoveryKey),
    el('p', { class: 'hint' }, `Recovery key fingerprint (safe to share, used to check the key later): ${fingerprint}`),
    el('div', { class: 'actions' }, el('button', { type: 'button', class: 'secondary', id: 'print' }, 'Print this page')),
    actionForm(admin.live, 'Continuing…', async () => {
      if (!saved.checked) throw new Error('Tick the box once the recovery key is printed or written down.');
      done();
    },
    el('div', { class: 'check' }, saved, el('label', { for: 'recovery-saved' }, 'I have printed or written down the recovery key and put it somewhere safe.')),
    el('div', { class: 'actions' }, submit('Continue'))),
  );
  document.getElementById('print')?.addEventListener('click', () => window.print());
}
