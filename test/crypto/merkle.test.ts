/**
 * RFC 6962 Merkle trees: the known-answer vectors of test/vectors/merkle-rfc6962.json (hashes, roots
 * of every size 1..8, inclusion and consistency proofs), each proof also checked against the ways a
 * proof can be wrong (after the probes of transparency-dev/merkle's verifier tests), the trivial
 * cases the RFC leaves to the caller, and the compact range a verifier resumes from.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concat, fromHex, toHex, utf8 } from '../../src/crypto/bytes.js';
import {
  CompactRange,
  MerkleTree,
  emptyRoot,
  hashChildren,
  hashLeaf,
  merkleTreeHash,
  rootFromInclusionProof,
  verifyConsistency,
  verifyInclusion,
} from '../../src/crypto/merkle/index.js';
import { auditCode, distinctLeaves, rfc6962, vectorLeafHashes } from './merkle-fixtures.js';

const h = fromHex;
const roots = rfc6962.roots.map(h);
const someHash = h('abacaba000000000000000000000000000000000000000000060061e00123456');
const emptyTreeHash = h(rfc6962.hashes.emptyTree);

function flipped(proof: readonly Uint8Array[], i: number, bit: number): Uint8Array[] {
  return proof.map((p, j) => (j === i ? Uint8Array.from(p, (b, k) => (k === 0 ? b ^ bit : b)) : p));
}

describe('RFC 6962 hashing', () => {
  it('hashes the empty tree, an empty leaf, a leaf and a node as the vectors say', async () => {
    assert.equal(toHex(await emptyRoot()), rfc6962.hashes.emptyTree);
    assert.equal(toHex(await hashLeaf(new Uint8Array(0))), rfc6962.hashes.emptyLeaf);
    assert.equal(toHex(await hashLeaf(h(rfc6962.hashes.leaf.data))), rfc6962.hashes.leaf.hash);
    // The node vector hashes short strings as children: hashChildren takes 32-byte hashes, so build it by hand.
    const { left, right, hash } = rfc6962.hashes.node;
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', concat(new Uint8Array([1]), h(left), h(right)) as Uint8Array<ArrayBuffer>));
    assert.equal(toHex(digest), hash);
  });

  it('keeps leaves and nodes apart (domain separation) and depends on order', async () => {
    const [a, b] = await Promise.all([hashLeaf(utf8('Hello')), hashLeaf(utf8('World'))]);
    const node = await hashChildren(a as Uint8Array, b as Uint8Array);
    assert.notEqual(toHex(node), toHex(await hashLeaf(concat(a as Uint8Array, b as Uint8Array))));
    assert.notEqual(toHex(node), toHex(await hashChildren(b as Uint8Array, a as Uint8Array)));
  });
});

describe('RFC 6962 tree hash', () => {
  it('gives the vector root at every size 1..8, and the empty root at 0', async () => {
    const leaves = await vectorLeafHashes();
    const tree = await MerkleTree.fromLeafHashes(leaves);
    assert.equal(toHex(await tree.root(0)), rfc6962.hashes.emptyTree);
    for (let n = 1; n <= 8; n++) {
      assert.equal(toHex(await tree.root(n)), rfc6962.roots[n - 1], `root of size ${n}`);
      assert.equal(toHex(await merkleTreeHash(leaves.slice(0, n))), rfc6962.roots[n - 1]);
    }
  });

  it('gives the same tree however the leaves are appended (one by one, in batches, at once)', async () => {
    const leaves = await distinctLeaves(37);
    const whole = await MerkleTree.fromLeafHashes(leaves);
    const oneByOne = new MerkleTree();
    for (const l of leaves) await oneByOne.append([l]);
    const batched = new MerkleTree();
    // Not awaited in between: appends are queued and applied in order.
    await Promise.all([batched.append(leaves.slice(0, 5)), batched.append(leaves.slice(5, 16)), batched.append(leaves.slice(16))]);
    for (let n = 0; n <= 37; n++) {
      const expected = toHex(await whole.root(n));
      assert.equal(toHex(await oneByOne.root(n)), expected);
      assert.equal(toHex(await batched.root(n)), expected);
    }
  });

  it('refuses sizes and indexes outside the tree with EV_ERR_AUDIT_OUT_OF_RANGE', async () => {
    const tree = await MerkleTree.fromLeafHashes(await vectorLeafHashes());
    assert.equal(await auditCode(() => tree.root(9)), 'EV_ERR_AUDIT_OUT_OF_RANGE');
    assert.equal(await auditCode(() => tree.root(-1)), 'EV_ERR_AUDIT_OUT_OF_RANGE');
    assert.equal(await auditCode(() => tree.inclusionProof(8, 8)), 'EV_ERR_AUDIT_OUT_OF_RANGE');
    assert.equal(await auditCode(() => tree.inclusionProof(0, 0)), 'EV_ERR_AUDIT_OUT_OF_RANGE');
    assert.equal(await auditCode(() => tree.inclusionProof(1.5, 8)), 'EV_ERR_AUDIT_OUT_OF_RANGE');
    assert.equal(await auditCode(() => tree.consistencyProof(5, 4)), 'EV_ERR_AUDIT_OUT_OF_RANGE');
    assert.equal(await auditCode(() => tree.consistencyProof(1, 9)), 'EV_ERR_AUDIT_OUT_OF_RANGE');
    assert.equal(await auditCode(() => tree.leafHash(8)), 'EV_ERR_AUDIT_OUT_OF_RANGE');
    assert.throws(() => tree.append([new Uint8Array(31)]), TypeError);
  });
});

describe('inclusion proofs: known answers', () => {
  for (const v of rfc6962.inclusion) {
    it(`leaf ${v.index} of ${v.size}: generated as the vector, verifies, and every corruption fails`, async () => {
      const leaves = await vectorLeafHashes();
      const tree = await MerkleTree.fromLeafHashes(leaves);
      const proof = v.proof.map(h);
      const leaf = leaves[v.index] as Uint8Array;
      const root = roots[v.size - 1] as Uint8Array;
      assert.deepEqual((await tree.inclusionProof(v.index, v.size)).map(toHex), v.proof);
      assert.equal(toHex((await rootFromInclusionProof(v.index, v.size, leaf, proof)) as Uint8Array), toHex(root));
      assert.equal(await verifyInclusion(v.index, v.size, leaf, proof, root), true);

      const probes: [string, number, number, Uint8Array, Uint8Array[], Uint8Array][] = [
        ['index - 1', v.index - 1, v.size, leaf, proof, root],
        ['index + 1', v.index + 1, v.size, leaf, proof, root],
        ['index ^ 2', v.index ^ 2, v.size, leaf, proof, root],
        ['size * 2', v.index, v.size * 2, leaf, proof, root],
        ['size / 2', v.index, Math.floor(v.size / 2), leaf, proof, root],
        ['wrong leaf', v.index, v.size, utf8('WrongLeaf'), proof, root],
        ['another 32-byte leaf', v.index, v.size, someHash, proof, root],
        ['empty root', v.index, v.size, leaf, proof, emptyTreeHash],
        ['random root', v.index, v.size, leaf, proof, someHash],
        ['trailing garbage', v.index, v.size, leaf, [...proof, new Uint8Array(0)], root],
        ['trailing root', v.index, v.size, leaf, [...proof, root], root],
        ['preceding garbage', v.index, v.size, leaf, [new Uint8Array(0), ...proof], root],
        ['preceding root', v.index, v.size, leaf, [root, ...proof], root],
      ];
      proof.forEach((_, i) => probes.push([`proof[${i}] bit 3 flipped`, v.index, v.size, leaf, flipped(proof, i, 8), root]));
      if (proof.length > 0) probes.push(['last component removed', v.index, v.size, leaf, proof.slice(0, -1), root]);
      if (proof.length > 1) probes.push(['component inserted', v.index, v.size, leaf, [proof[0] as Uint8Array, someHash, ...proof.slice(1)], root]);
      for (const [name, index, size, l, p, r] of probes) {
        assert.equal(await verifyInclusion(index, size, l, p, r), false, `accepted: ${name}`);
      }
    });
  }

  it('a one-leaf tree: the root is the leaf hash and the proof is empty', async () => {
    const leaf = await hashLeaf(utf8('data'));
    assert.equal(await verifyInclusion(0, 1, leaf, [], leaf), true);
    assert.equal(await verifyInclusion(0, 1, leaf, [], new Uint8Array(0)), false);
    assert.equal(await verifyInclusion(0, 1, new Uint8Array(0), [], leaf), false);
  });

  it('refuses impossible positions whatever the hashes', async () => {
    for (const [index, size] of [[0, 0], [1, 0], [2, 1], [1, 1], [-1, 4], [0.5, 4], [2 ** 53, 2 ** 53 + 2]] as const) {
      assert.equal(await verifyInclusion(index, size, someHash, [], emptyTreeHash), false, `${index}/${size}`);
    }
  });
});

describe('consistency proofs: known answers', () => {
  for (const v of rfc6962.consistency) {
    it(`${v.size1} → ${v.size2}: generated as the vector, verifies, and every corruption fails`, async () => {
      const tree = await MerkleTree.fromLeafHashes(await vectorLeafHashes());
      const proof = v.proof.map(h);
      const root1 = roots[v.size1 - 1] as Uint8Array;
      const root2 = roots[v.size2 - 1] as Uint8Array;
      assert.deepEqual((await tree.consistencyProof(v.size1, v.size2)).map(toHex), v.proof);
      assert.equal(await verifyConsistency(v.size1, v.size2, root1, root2, proof), true);
      if (proof.length === 0) return;

      const probes: [string, number, number, Uint8Array, Uint8Array, Uint8Array[]][] = [
        ['size1 - 1', v.size1 - 1, v.size2, root1, root2, proof],
        ['size1 + 1', v.size1 + 1, v.size2, root1, root2, proof],
        ['size1 ^ 2', v.size1 ^ 2, v.size2, root1, root2, proof],
        ['size2 * 2', v.size1, v.size2 * 2, root1, root2, proof],
        ['size2 / 2', v.size1, Math.floor(v.size2 / 2), root1, root2, proof],
        ['wrong root1', v.size1, v.size2, utf8('WrongRoot'), root2, proof],
        ['wrong root2', v.size1, v.size2, root1, utf8('WrongRoot'), proof],
        ['swapped roots', v.size1, v.size2, root2, root1, proof],
        ['empty proof', v.size1, v.size2, root1, root2, []],
        ['trailing garbage', v.size1, v.size2, root1, root2, [...proof, new Uint8Array(0)]],
        ['trailing root1', v.size1, v.size2, root1, root2, [...proof, root1]],
        ['trailing root2', v.size1, v.size2, root1, root2, [...proof, root2]],
        ['preceding garbage', v.size1, v.size2, root1, root2, [new Uint8Array(0), ...proof]],
        ['preceding root1', v.size1, v.size2, root1, root2, [root1, ...proof]],
        ['preceding root2', v.size1, v.size2, root1, root2, [root2, ...proof]],
        ['preceding proof[0]', v.size1, v.size2, root1, root2, [proof[0] as Uint8Array, ...proof]],
        ['truncated', v.size1, v.size2, root1, root2, proof.slice(0, -1)],
      ];
      proof.forEach((_, i) => probes.push([`proof[${i}] bit 4 flipped`, v.size1, v.size2, root1, root2, flipped(proof, i, 16)]));
      for (const [name, s1, s2, r1, r2, p] of probes) {
        assert.equal(await verifyConsistency(s1, s2, r1, r2, p), false, `accepted: ${name}`);
      }
    });
  }

  it('handles the trivial cases: equal sizes, the empty tree, going back in time', async () => {
    const [a, b] = [roots[0] as Uint8Array, roots[1] as Uint8Array];
    assert.equal(await verifyConsistency(0, 0, a, a, []), true);
    assert.equal(await verifyConsistency(0, 1, a, b, []), true, 'the empty tree is a prefix of every tree');
    assert.equal(await verifyConsistency(1, 1, b, b, []), true);
    assert.equal(await verifyConsistency(0, 0, a, b, []), false, 'equal sizes need equal roots');
    assert.equal(await verifyConsistency(1, 1, a, b, []), false);
    assert.equal(await verifyConsistency(1, 0, a, b, []), false, 'time travel');
    assert.equal(await verifyConsistency(2, 1, a, b, []), false);
    assert.equal(await verifyConsistency(1, 2, a, b, []), false, 'a non-trivial proof is never empty');
    assert.equal(await verifyConsistency(0, 1, emptyTreeHash, emptyTreeHash, [emptyTreeHash]), false, 'a trivial proof is empty');
    assert.equal(await verifyConsistency(1, 1, a, a, [a]), false);
  });
});

describe('compact ranges', () => {
  it('resume a tree from any size and reach the same roots', async () => {
    const leaves = await distinctLeaves(70);
    const tree = await MerkleTree.fromLeafHashes(leaves);
    for (const from of [0, 1, 2, 3, 7, 8, 31, 32, 33, 64, 69, 70]) {
      const range = CompactRange.fromHashes(from, tree.compactRange(from));
      assert.equal(toHex(await range.root()), toHex(await tree.root(from)), `root at ${from}`);
      for (let n = from; n < 70; n++) {
        await range.append(leaves[n] as Uint8Array);
        if (n % 9 === 0 || n === 69) assert.equal(toHex(await range.root()), toHex(await tree.root(n + 1)), `root at ${n + 1} from ${from}`);
      }
      assert.equal(range.size, 70);
      assert.deepEqual(range.hashes().map(toHex), tree.compactRange(70).map(toHex));
    }
  });

  it('holds one hash per set bit of the size, and refuses any other count', async () => {
    const tree = await MerkleTree.fromLeafHashes(await distinctLeaves(13));
    assert.equal(tree.compactRange(13).length, 3);
    assert.equal(tree.compactRange(8).length, 1);
    assert.equal(tree.compactRange(0).length, 0);
    assert.equal(toHex(await CompactRange.empty().root()), rfc6962.hashes.emptyTree);
    assert.equal(await auditCode(() => CompactRange.fromHashes(13, tree.compactRange(12))), 'EV_ERR_AUDIT_OUT_OF_RANGE');
    assert.equal(await auditCode(() => CompactRange.fromHashes(13, [...tree.compactRange(13), someHash])), 'EV_ERR_AUDIT_OUT_OF_RANGE');
    assert.equal(await auditCode(() => CompactRange.fromHashes(-1, [])), 'EV_ERR_AUDIT_OUT_OF_RANGE');
  });
});
