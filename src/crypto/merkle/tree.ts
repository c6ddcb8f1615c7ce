/**
 * An append-only RFC 6962 Merkle tree held in memory, for the party that serves proofs (the log).
 *
 * It keeps every complete subtree: level k holds the hash of each aligned run of 2^k leaves that is
 * complete. Appending n leaves costs about n hashes in all (each node is hashed once, ever); the root
 * of any size, an inclusion proof and a consistency proof then cost O(log² n) hashes at most, for
 * the right-edge subtrees that are not complete. Memory: 64 bytes a leaf (32 for the leaf hash, 32
 * for the interior nodes above it), in one growing buffer per level.
 *
 * Proofs follow RFC 6962 §2.1.1 (PATH) and §2.1.2 (PROOF/SUBPROOF); they verify with verify.ts
 * (RFC 9162 §2.1.3.2 and §2.1.4.2). A proof for size n uses only the first n leaves, so a log
 * answers for any size it has had.
 *
 * Concurrency: `append` calls are queued and applied one at a time; a batch is published all at once
 * after its nodes are hashed, so readers (root, proofs) never see a half-built level.
 */
import { AuditLogError } from './errors.js';
import { HASH_SIZE, emptyRoot, hashChildren, isHash, isPowerOfTwo, splitPoint } from './hash.js';

/** Hashes of one level, 32 bytes each, in one buffer that doubles when full. */
class HashList {
  private buffer = new Uint8Array(HASH_SIZE * 64);
  length = 0;

  get(i: number): Uint8Array {
    return this.buffer.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE);
  }

  push(hash: Uint8Array): void {
    if ((this.length + 1) * HASH_SIZE > this.buffer.length) {
      const bigger = new Uint8Array(this.buffer.length * 2);
      bigger.set(this.buffer);
      this.buffer = bigger;
    }
    this.buffer.set(hash, this.length * HASH_SIZE);
    this.length++;
  }
}

function outOfRange(message: string): AuditLogError {
  return new AuditLogError('EV_ERR_AUDIT_OUT_OF_RANGE', message);
}

function checkSize(size: number, max: number, what: string): void {
  if (!Number.isSafeInteger(size) || size < 0 || size > max) throw outOfRange(`${what} ${size} is not within 0..${max}`);
}

export class MerkleTree {
  /** levels[k].get(i) = hash of leaves [i·2^k, (i+1)·2^k). levels[0] holds the leaf hashes. */
  private readonly levels: HashList[] = [new HashList()];
  private queue: Promise<void> = Promise.resolve();

  /** A tree of these leaf hashes, in order. */
  static async fromLeafHashes(leafHashes: readonly Uint8Array[]): Promise<MerkleTree> {
    const tree = new MerkleTree();
    await tree.append(leafHashes);
    return tree;
  }

  /** The number of leaves appended (and published) so far. */
  get size(): number {
    return (this.levels[0] as HashList).length;
  }

  /** The hash of leaf `index`. */
  leafHash(index: number): Uint8Array {
    checkSize(index, this.size - 1, 'leaf index');
    return (this.levels[0] as HashList).get(index).slice();
  }

  /** Appends leaf hashes (32 bytes each). Calls are applied in the order they were made. */
  append(leafHashes: readonly Uint8Array[]): Promise<void> {
    for (const h of leafHashes) if (!isHash(h)) throw new TypeError('a leaf hash is 32 bytes');
    const copies = leafHashes.map((h) => h.slice());
    const next = this.queue.then(() => this.appendNow(copies));
    this.queue = next.catch(() => {});
    return next;
  }

  private async appendNow(leaves: Uint8Array[]): Promise<void> {
    // Hash the new nodes level by level (the hashes of one level run concurrently), then publish.
    const staged: Uint8Array[][] = [leaves];
    for (let k = 0; (staged[k] as Uint8Array[]).length > 0; k++) {
      const level = this.levels[k];
      const published = level ? level.length : 0;
      const fresh = staged[k] as Uint8Array[];
      const item = (i: number): Uint8Array => (i < published ? (level as HashList).get(i) : (fresh[i - published] as Uint8Array));
      const total = published + fresh.length;
      const parents: Promise<Uint8Array>[] = [];
      for (let j = Math.floor(published / 2); 2 * j + 1 < total; j++) parents.push(hashChildren(item(2 * j), item(2 * j + 1)));
      staged.push(await Promise.all(parents));
    }
    staged.forEach((fresh, k) => {
      if (fresh.length === 0) return;
      const level = this.levels[k] ?? (this.levels[k] = new HashList());
      for (const h of fresh) level.push(h);
    });
  }

  /** The root hash of the first `size` leaves (default: all). */
  async root(size: number = this.size): Promise<Uint8Array> {
    checkSize(size, this.size, 'tree size');
    return size === 0 ? emptyRoot() : this.rangeHash(0, size);
  }

  /**
   * The audit path of leaf `index` in the tree of the first `size` leaves (RFC 6962 §2.1.1),
   * ordered from the leaf up.
   */
  async inclusionProof(index: number, size: number = this.size): Promise<Uint8Array[]> {
    checkSize(size, this.size, 'tree size');
    if (!Number.isSafeInteger(index) || index < 0 || index >= size) throw outOfRange(`leaf index ${index} is not within 0..${size - 1}`);
    const ranges: [number, number][] = [];
    let lo = 0;
    let hi = size;
    while (hi - lo > 1) {
      const k = splitPoint(hi - lo);
      if (index < lo + k) {
        ranges.push([lo + k, hi]);
        hi = lo + k;
      } else {
        ranges.push([lo, lo + k]);
        lo += k;
      }
    }
    // Collected from the top down; the path lists the leaf's sibling first.
    return Promise.all(ranges.reverse().map(([a, b]) => this.rangeHash(a, b)));
  }

  /**
   * The consistency proof between the trees of the first `from` and the first `to` leaves
   * (RFC 6962 §2.1.2). Empty when from is 0 or from equals to.
   */
  async consistencyProof(from: number, to: number = this.size): Promise<Uint8Array[]> {
    checkSize(to, this.size, 'tree size');
    checkSize(from, to, 'old tree size');
    if (from === 0 || from === to) return [];
    const ranges: [number, number][] = [];
    // SUBPROOF(m, D[lo:hi], complete): m counts leaves from lo.
    let lo = 0;
    let hi = to;
    let m = from;
    let complete = true;
    for (;;) {
      const n = hi - lo;
      if (m === n) {
        if (!complete) ranges.push([lo, hi]);
        break;
      }
      const k = splitPoint(n);
      if (m <= k) {
        ranges.push([lo + k, hi]);
        hi = lo + k;
      } else {
        ranges.push([lo, lo + k]);
        lo += k;
        m -= k;
        complete = false;
      }
    }
    return Promise.all(ranges.reverse().map(([a, b]) => this.rangeHash(a, b)));
  }

  /**
   * The hashes of the complete subtrees that make up the first `size` leaves, largest (leftmost)
   * first: the compact range of [0, size), from which compact-range.ts continues the tree. No
   * hashing is needed: each is a stored node.
   */
  compactRange(size: number): Uint8Array[] {
    checkSize(size, this.size, 'tree size');
    const out: Uint8Array[] = [];
    let offset = 0;
    for (let k = Math.floor(Math.log2(Math.max(size, 1))) + 1; k >= 0; k--) {
      const width = 2 ** k;
      if (size - offset >= width) {
        out.push(this.node(k, offset / width).slice());
        offset += width;
      }
    }
    return out;
  }

  /** MTH(D[lo:hi]) for a range the RFC recursion produces: lo is a multiple of the split size. */
  private rangeHash(lo: number, hi: number): Promise<Uint8Array> {
    const n = hi - lo;
    if (isPowerOfTwo(n) && lo % n === 0) return Promise.resolve(this.node(Math.log2(n), lo / n));
    const k = splitPoint(n);
    return Promise.all([this.rangeHash(lo, lo + k), this.rangeHash(lo + k, hi)]).then(([l, r]) => hashChildren(l, r));
  }

  private node(level: number, index: number): Uint8Array {
    const list = this.levels[level];
    if (!list || index >= list.length) throw new Error(`internal: node ${level}/${index} not built`);
    return list.get(index);
  }
}

/** MTH of a list of leaf hashes (RFC 6962 §2.1): the root of the tree they make. */
export async function merkleTreeHash(leafHashes: readonly Uint8Array[]): Promise<Uint8Array> {
  return (await MerkleTree.fromLeafHashes(leafHashes)).root();
}
