/**
 * The `custody` commands: key custody (docs/KEY-CUSTODY.md) offline, for a staff member without a
 * browser. Each writes exactly the JSON body the server's custody API accepts (src/protocol/custody.ts)
 * and reads what it serves; none talks to a server. `examvault open --grant` opens a recording with a
 * member's own key.
 */
import type { Command } from 'commander';
import { registerCustodyApprove } from './custody-approve.js';
import { registerCustodyEnrol } from './custody-enrol.js';
import { registerCustodyKeygen } from './custody-keygen.js';
import { registerCustodyRecoveryKey } from './custody-recovery-key.js';
import { registerCustodyRevoke } from './custody-revoke.js';
import { registerCustodySafetyNumber } from './custody-safety-number.js';

/** Registers `custody keygen`, `safety-number`, `approve`, `recovery-key`, `enrol` and `revoke`. */
export function registerCustody(program: Command): void {
  const custody = program.command('custody').summary('staff keys, safety numbers, approvals, set-up, admin enrolment and revocation, offline')
    .description('Key custody without a browser (docs/KEY-CUSTODY.md): each command writes the JSON body the server\'s /v1/custody API accepts.');
  registerCustodyKeygen(custody);
  registerCustodySafetyNumber(custody);
  registerCustodyApprove(custody);
  registerCustodyRecoveryKey(custody);
  registerCustodyEnrol(custody);
  registerCustodyRevoke(custody);
}
