/**
 * What reaches the recorder from a sign-in (src/web/recorder/handoff.ts): the LTI launch page's script
 * writes the one-time code where the recorder reads it, once; the trust anchors keep only a
 * well-formed recovery-key fingerprint.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toBase64Url } from '../../src/crypto/index.js';
import { scripts } from '../../src/server/lti/pages.js';
import { HANDOFF_KEY, takeHandoff } from '../../src/web/recorder/handoff.js';

/** A Storage with only what takeHandoff uses. */
function storage(entries: Record<string, string>): Storage {
  const m = new Map(Object.entries(entries));
  return {
    getItem: (k: string) => m.get(k) ?? null,
    removeItem: (k: string) => void m.delete(k),
    setItem: (k: string, v: string) => void m.set(k, v),
    get length() {
      return m.size;
    },
  } as unknown as Storage;
}

describe('the recorder hand-off', () => {
  it('the launch page script writes the code under the key the recorder reads, and never puts it in the URL', () => {
    const source = scripts['recorder.js'] ?? '';
    assert.ok(source.includes(`'${HANDOFF_KEY}'`), 'same sessionStorage key');
    assert.match(source, /JSON\.stringify\(\{ handoff: code \}\)/);
    assert.match(source, /location\.replace\('\/app\/recorder\/'\)/, 'the recorder URL carries no code');
  });

  it('reads a hand-off code and a fingerprint once, and drops malformed ones', () => {
    const fingerprint = toBase64Url(new Uint8Array(32).fill(1));
    const s = storage({ [HANDOFF_KEY]: JSON.stringify({ handoff: 'evk1.eu.abcdefgh', trust: { rootFingerprint: fingerprint } }) });
    const first = takeHandoff(s);
    assert.equal(first.code, 'evk1.eu.abcdefgh');
    assert.equal(first.trust.rootFingerprint, fingerprint);
    assert.equal(takeHandoff(s).code, undefined, 'read once');
    const bad = takeHandoff(storage({ [HANDOFF_KEY]: JSON.stringify({ handoff: 'x y<script>', trust: { rootFingerprint: 'short' } }) }));
    assert.equal(bad.code, undefined);
    assert.equal(bad.trust.rootFingerprint, undefined);
  });
});
