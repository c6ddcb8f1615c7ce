/**
 * Property tests (fast-check) of the Merkle proofs: an honest proof verifies for every position and
 * size, and a proof verifies for nothing else: not with a byte changed anywhere (proof, leaf, roots),
 * not at another index, not for other sizes unless it is that size's honest proof too (a verifier
 * only binds a root to its size through a signed checkpoint; what it must never do is accept a
 * proof that the honest tree would not give). The tree is built once, with distinct leaves.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import { toHex } from '../../src/crypto/bytes.js';
import { CompactRange, MerkleTree, verifyConsistency, verifyInclusion } from '../../src/crypto/merkle/index.js';
import { distinctLeaves } from './merkle-fixtures.js';

const N = 130;
let leaves: Uint8Array[];
let tree: MerkleTree;
const roots: Uint8Array[] = [];

const same = (a: readonly Uint8Array[], b: readonly Uint8Array[]): boolean => a.map(toHex).join() === b.map(toHex).join();

/** A copy of `bytes` with one bit flipped. */
function flip(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  out[(bit >> 3) % out.length] = (out[(bit >> 3) % out.length] as number) ^ (1 << (bit & 7));
  return out;
}

const position = fc.integer({ min: 1, max: N }).chain((size) => fc.record({ size: fc.constant(size), index: fc.nat({ max: size - 1 }) }));
const sizes = fc.integer({ min: 0, max: N }).chain((n) => fc.record({ m: fc.nat({ max: n }), n: fc.constant(n) }));

before(async () => {
  leaves = await distinctLeaves(N);
  tree = await MerkleTree.fromLeafHashes(leaves);
  for (let n = 0; n <= N; n++) roots.push(await tree.root(n));
});

describe('inclusion proof properties', () => {
  it('an honest proof verifies at every index of every size', async () => {
    await fc.assert(
      fc.asyncProperty(position, async ({ size, index }) =>
        verifyInclusion(index, size, leaves[index] as Uint8Array, await tree.inclusionProof(index, size), roots[size] as Uint8Array)),
      { numRuns: 300 },
    );
  });

  it('a bit flipped in the proof, the leaf hash or the root fails', async () => {
    await fc.assert(
      fc.asyncProperty(position, fc.nat(), fc.nat({ max: 255 }), async ({ size, index }, where, bit) => {
        const proof = await tree.inclusionProof(index, size);
        const leaf = leaves[index] as Uint8Array;
        const root = roots[size] as Uint8Array;
        const target = where % (proof.length + 2);
        if (target < proof.length) return !(await verifyInclusion(index, size, leaf, proof.map((p, i) => (i === target ? flip(p, bit) : p)), root));
        if (target === proof.length) return !(await verifyInclusion(index, size, flip(leaf, bit), proof, root));
        return !(await verifyInclusion(index, size, leaf, proof, flip(root, bit)));
      }),
      { numRuns: 500 },
    );
  });

  it('a proof does not verify at another index', async () => {
    await fc.assert(
      fc.asyncProperty(position, fc.nat({ max: N + 5 }), async ({ size, index }, other) => {
        fc.pre(other !== index);
        return !(await verifyInclusion(other, size, leaves[index] as Uint8Array, await tree.inclusionProof(index, size), roots[size] as Uint8Array));
      }),
      { numRuns: 300 },
    );
  });

  it('a proof verifies for another size only where it is that size\'s honest proof too', async () => {
    await fc.assert(
      fc.asyncProperty(position, fc.integer({ min: 1, max: N }), async ({ size, index }, other) => {
        fc.pre(other !== size && index < other);
        const proof = await tree.inclusionProof(index, size);
        const accepted = await verifyInclusion(index, other, leaves[index] as Uint8Array, proof, roots[other] as Uint8Array);
        return accepted === same(proof, await tree.inclusionProof(index, other));
      }),
      { numRuns: 300 },
    );
  });
});

describe('consistency proof properties', () => {
  it('an honest proof verifies between every pair of sizes', async () => {
    await fc.assert(
      fc.asyncProperty(sizes, async ({ m, n }) => verifyConsistency(m, n, roots[m] as Uint8Array, roots[n] as Uint8Array, await tree.consistencyProof(m, n))),
      { numRuns: 300 },
    );
  });

  it('a bit flipped in the proof or either root fails', async () => {
    await fc.assert(
      fc.asyncProperty(sizes, fc.nat(), fc.nat({ max: 255 }), async ({ m, n }, where, bit) => {
        fc.pre(m > 0); // the empty tree is a prefix of every tree, whatever the roots say
        const proof = await tree.consistencyProof(m, n);
        const [r1, r2] = [roots[m] as Uint8Array, roots[n] as Uint8Array];
        const target = where % (proof.length + 2);
        if (target < proof.length) return !(await verifyConsistency(m, n, r1, r2, proof.map((p, i) => (i === target ? flip(p, bit) : p))));
        if (target === proof.length) return !(await verifyConsistency(m, n, flip(r1, bit), r2, proof));
        return !(await verifyConsistency(m, n, r1, flip(r2, bit), proof));
      }),
      { numRuns: 500 },
    );
  });

  it('a proof verifies for other sizes only where it is their honest proof too', async () => {
    await fc.assert(
      fc.asyncProperty(sizes, sizes, async (a, b) => {
        fc.pre(a.m !== b.m || a.n !== b.n);
        const proof = await tree.consistencyProof(a.m, a.n);
        const accepted = await verifyConsistency(b.m, b.n, roots[b.m] as Uint8Array, roots[b.n] as Uint8Array, proof);
        return accepted === same(proof, await tree.consistencyProof(b.m, b.n));
      }),
      { numRuns: 300 },
    );
  });
});

describe('tree construction properties', () => {
  it('appending in any batches builds the same tree', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 1, max: 63 }), { maxLength: 6 }), async (cuts) => {
        const bounds = [0, ...cuts.sort((x, y) => x - y), 64];
        const t = new MerkleTree();
        for (let i = 0; i + 1 < bounds.length; i++) await t.append(leaves.slice(bounds[i], bounds[i + 1]));
        for (const n of [0, 1, 5, 17, 33, 64]) if (toHex(await t.root(n)) !== toHex(roots[n] as Uint8Array)) return false;
        return true;
      }),
      { numRuns: 40 },
    );
  });

  it('a compact range resumed at any size reaches the tree\'s roots', async () => {
    await fc.assert(
      fc.asyncProperty(sizes, async ({ m, n }) => {
        const range = CompactRange.fromHashes(m, tree.compactRange(m));
        for (let i = m; i < n; i++) await range.append(leaves[i] as Uint8Array);
        return toHex(await range.root()) === toHex(roots[n] as Uint8Array);
      }),
      { numRuns: 60 },
    );
  });

  it('checks its own count', () => {
    assert.equal(roots.length, N + 1);
  });
});
