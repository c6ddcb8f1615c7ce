/**
 * Every stable error code is documented in docs/errors.md, and the page lists no code the source
 * does not have. Codes are collected from the source tree itself, so a new code cannot slip by.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cryptoErrorCodes } from '../../src/crypto/index.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const doc = readFileSync(join(root, 'docs/errors.md'), 'utf8');
const codePattern = /EV_ERR_[A-Z0-9_]*[A-Z0-9]\b/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const inSource = new Set(sourceFiles(join(root, 'src')).flatMap((f) => readFileSync(f, 'utf8').match(codePattern) ?? []));
const documented = new Set([...doc.matchAll(/^\| `(EV_ERR_[A-Z0-9_]+)` \|/gm)].map((m) => m[1] as string));

describe('docs/errors.md', () => {
  it('finds codes in the source', () => {
    assert.ok(inSource.size >= cryptoErrorCodes.length);
    for (const code of cryptoErrorCodes) assert.ok(inSource.has(code));
  });

  it('documents every code the source raises', () => {
    const missing = [...inSource].filter((c) => !documented.has(c));
    assert.deepEqual(missing, [], `undocumented error codes: ${missing.join(', ')}`);
  });

  it('lists no code the source does not have', () => {
    const stale = [...documented].filter((c) => !inSource.has(c));
    assert.deepEqual(stale, [], `documented but absent from the source: ${stale.join(', ')}`);
  });
});
