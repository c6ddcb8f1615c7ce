/**
 * The admin console (docs/WEB.md). A shell for now: institution set-up, reviewer approval by safety
 * number, revocation, retention and the audit log come next; see docs/WEB.md "Not yet".
 */
import '../shared/base.css';
import { el, showScreen } from '../shared/dom.js';

showScreen(document.getElementById('main') as HTMLElement, 'Admin console', 'ExamVault',
  el('p', {}, 'Institution admins will set up their institution here, approve reviewers by comparing safety numbers, and read the audit log.'),
  el('p', {}, 'This part of ExamVault is not ready yet.'),
);
