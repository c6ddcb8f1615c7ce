/**
 * Verifying Merkle proofs, as RFC 9162 specifies: inclusion (§2.1.3.2) and consistency (§2.1.4.2).
 * Tree sizes and indexes go up to 2^53 − 1, so "LSB" and "right-shift" are done with arithmetic,
 * not with JavaScript's 32-bit bit operators. Every function answers false (or null) for anything
 * that does not verify, malformed input included: a proof is evidence, and bad evidence is no proof.
 */
import { constantTimeEqual } from '../bytes.js';
import { hashChildren, isHash, isPowerOfTwo } from './hash.js';

/** No honest proof is longer: a tree of 2^53 leaves has a path of 53 and a consistency proof of ≤ 2·53. */
const MAX_PROOF_LENGTH = 128;

const odd = (x: number): boolean => x % 2 === 1;
const half = (x: number): number => Math.floor(x / 2);
const validSize = (x: number): boolean => Number.isSafeInteger(x) && x >= 0;

function wellFormed(proof: readonly unknown[]): proof is readonly Uint8Array[] {
  return Array.isArray(proof) && proof.length <= MAX_PROOF_LENGTH && proof.every(isHash);
}

/**
 * The root that an inclusion proof leads to from `leafHash` at `index` in a tree of `size` leaves,
 * or null when the proof cannot be for that position (wrong length, malformed).
 */
export async function rootFromInclusionProof(
  index: number,
  size: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
): Promise<Uint8Array | null> {
  if (!validSize(index) || !validSize(size) || index >= size || !isHash(leafHash) || !wellFormed(proof)) return null;
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) return null;
    if (odd(fn) || fn === sn) {
      r = await hashChildren(p, r);
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = await hashChildren(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 ? r : null;
}

/** True when `proof` shows the leaf `leafHash` at `index` in the tree of `size` leaves with root `root`. */
export async function verifyInclusion(
  index: number,
  size: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): Promise<boolean> {
  if (!isHash(root)) return false;
  const computed = await rootFromInclusionProof(index, size, leafHash, proof);
  return computed !== null && constantTimeEqual(computed, root);
}

/**
 * True when `proof` shows that the tree of `size1` leaves with root `root1` is a prefix of the tree
 * of `size2` leaves with root `root2`. The trivial cases come first, as RFC 9162 leaves them to the
 * caller: equal sizes need equal roots and an empty proof; the empty tree is a prefix of every tree
 * (again with an empty proof).
 */
export async function verifyConsistency(
  size1: number,
  size2: number,
  root1: Uint8Array,
  root2: Uint8Array,
  proof: readonly Uint8Array[],
): Promise<boolean> {
  if (!validSize(size1) || !validSize(size2) || size1 > size2 || !isHash(root1) || !isHash(root2) || !wellFormed(proof)) return false;
  if (size1 === size2) return proof.length === 0 && constantTimeEqual(root1, root2);
  if (size1 === 0) return proof.length === 0;
  if (proof.length === 0) return false;
  // Step 2: when size1 is a power of two, its root is a node of the new tree and starts the path.
  let path = proof;
  let fn = size1 - 1;
  let sn = size2 - 1;
  if (isPowerOfTwo(size1)) path = [root1, ...proof];
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0] as Uint8Array;
  let sr = path[0] as Uint8Array;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      fr = await hashChildren(c, fr);
      sr = await hashChildren(c, sr);
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = await hashChildren(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && constantTimeEqual(fr, root1) && constantTimeEqual(sr, root2);
}
