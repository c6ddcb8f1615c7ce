/**
 * A compact range: the few hashes that summarise the first n leaves of an RFC 6962 tree (one hash per
 * set bit of n: the complete subtrees of [0, n), largest first). It is what a verifier needs to go on
 * growing the tree leaf by leaf and to compute its root at any size reached, in O(log n) memory:
 * the offline verifier streams an export through one. `MerkleTree.compactRange(n)` gives the hashes
 * a log hands out with an export that starts at leaf n.
 */
import { AuditLogError } from './errors.js';
import { emptyRoot, hashChildren, isHash } from './hash.js';

interface Subtree {
  /** log2 of the number of leaves it covers. */
  readonly height: number;
  readonly hash: Uint8Array;
}

/** The heights of the complete subtrees of [0, size), largest first. */
function heights(size: number): number[] {
  const out: number[] = [];
  for (let k = 53; k >= 0; k--) if (Math.floor(size / 2 ** k) % 2 === 1) out.push(k);
  return out;
}

export class CompactRange {
  private constructor(
    private count: number,
    private readonly stack: Subtree[],
  ) {}

  /** The compact range of the empty tree. */
  static empty(): CompactRange {
    return new CompactRange(0, []);
  }

  /**
   * Resumes from the hashes of the complete subtrees of [0, size), largest first. Throws
   * EV_ERR_AUDIT_OUT_OF_RANGE when their number does not fit the size (one per set bit).
   */
  static fromHashes(size: number, hashes: readonly Uint8Array[]): CompactRange {
    if (!Number.isSafeInteger(size) || size < 0) throw new AuditLogError('EV_ERR_AUDIT_OUT_OF_RANGE', `tree size ${size} is not a whole number ≥ 0`);
    const hs = heights(size);
    if (hashes.length !== hs.length || !hashes.every(isHash)) {
      throw new AuditLogError('EV_ERR_AUDIT_OUT_OF_RANGE', `a tree of ${size} leaves has a compact range of ${hs.length} hashes of 32 bytes`);
    }
    return new CompactRange(size, hs.map((height, i) => ({ height, hash: (hashes[i] as Uint8Array).slice() })));
  }

  get size(): number {
    return this.count;
  }

  /** Adds one leaf hash, merging equal subtrees as a binary counter carries. */
  async append(leafHash: Uint8Array): Promise<void> {
    if (!isHash(leafHash)) throw new TypeError('a leaf hash is 32 bytes');
    let node: Subtree = { height: 0, hash: leafHash.slice() };
    for (;;) {
      const top = this.stack[this.stack.length - 1];
      if (!top || top.height !== node.height) break;
      this.stack.pop();
      node = { height: node.height + 1, hash: await hashChildren(top.hash, node.hash) };
    }
    this.stack.push(node);
    this.count++;
  }

  /** The root hash of the tree of the leaves so far (RFC 6962 MTH). */
  async root(): Promise<Uint8Array> {
    if (this.stack.length === 0) return emptyRoot();
    let r = (this.stack[this.stack.length - 1] as Subtree).hash;
    for (let i = this.stack.length - 2; i >= 0; i--) r = await hashChildren((this.stack[i] as Subtree).hash, r);
    return r;
  }

  /** The hashes, largest subtree first (the form `fromHashes` takes). */
  hashes(): Uint8Array[] {
    return this.stack.map((s) => s.hash.slice());
  }
}
