/**
 * The reviewer app (docs/WEB.md). A shell for now: staff sign-in (passkey or LTI), unlocking the
 * reviewer's key and the player come next; see docs/WEB.md "Not yet".
 */
import '../shared/base.css';
import { el, showScreen } from '../shared/dom.js';

showScreen(document.getElementById('main') as HTMLElement, 'Review recordings', 'ExamVault',
  el('p', {}, 'Reviewers will sign in here, unlock their key on this device and watch the recordings their institution approved them for.'),
  el('p', {}, 'This part of ExamVault is not ready yet.'),
);
