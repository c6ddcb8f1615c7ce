/**
 * What bench/recorder-sealing.ts counts as sealing: samples inside `sealNext` (callees included,
 * counted once, other functions not), and the thread CPU of Blink's encryption tasks only.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encryptCpuMs, timeInside } from '../../bench/recorder-sealing.js';

describe('the recorder sealing bench counts sealing only', () => {
  it('sums the samples inside sealNext, its callees once, nothing else', () => {
    const frame = (id: number, functionName: string, children: number[] = []) => ({ id, callFrame: { functionName }, children });
    // (root) → onPiece → sealNext → sealSegment → encrypt; (root) → digest
    const nodes = [frame(1, '(root)', [2, 6]), frame(2, 'onPiece', [3]), frame(3, 'sealNext', [4]), frame(4, 'sealSegment', [5]), frame(5, 'encrypt'), frame(6, 'digest')];
    // Sample i lasts timeDeltas[i + 1] µs; the last one has no end and counts nothing.
    const samples = [2, 3, 4, 5, 6, 1, 3];
    const timeDeltas = [0, 100, 200, 300, 400, 500, 600];
    assert.equal(timeInside({ nodes, samples, timeDeltas }, 'sealNext'), (200 + 300 + 400) / 1000);
    assert.equal(timeInside({ nodes, samples, timeDeltas }, 'digest'), 500 / 1000);
  });

  it('takes the thread CPU of DoEncrypt and DoEncryptReply, and counts encryptions', () => {
    const events = [
      { ph: 'X', name: 'DoEncrypt', tdur: 450, dur: 900 },
      { ph: 'X', name: 'DoEncryptReply', tdur: 1200 },
      { ph: 'X', name: 'DoDigest', tdur: 5000 },
      { ph: 'B', name: 'DoEncrypt', tdur: 7000 },
      { ph: 'X', name: 'DoEncrypt' },
    ];
    assert.deepEqual(encryptCpuMs(events), { ms: 1.65, count: 2 });
  });
});
