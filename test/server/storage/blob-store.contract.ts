/**
 * The contract every BlobStore passes (src/server/storage/blob-store.ts): the fs store, the
 * at-rest-encrypted store over it, and the S3 store to come. A store's test file calls
 * `blobStoreContract(name, makeStore)`; `makeStore` gives a fresh, empty store for each test and a
 * `cleanup` that closes it (close is idempotent) and removes what it made.
 *
 * The suite asks only what the contract promises: no order from `list`, no winner among concurrent
 * puts to one key beyond "one of them, whole".
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { type BlobStore, BlobKeyError } from '../../../src/server/storage/blob-store.js';
import { isStorageError } from '../../../src/server/storage/errors.js';

export interface StoreUnderTest {
  readonly store: BlobStore;
  cleanup(): Promise<void>;
}

export async function collect(keys: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const key of keys) out.push(key);
  return out.sort();
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Byte equality that stays readable (and fast) for megabytes. */
export function assertBytes(actual: Uint8Array | null, expected: Uint8Array, what = 'object'): void {
  assert.ok(actual !== null, `${what}: missing`);
  assert.ok(actual instanceof Uint8Array, `${what}: not a Uint8Array`);
  assert.equal(actual.byteLength, expected.byteLength, `${what}: length`);
  assert.equal(sha256(actual), sha256(expected), `${what}: content`);
}

const text = (s: string) => new TextEncoder().encode(s);

const invalidKeys = [
  '',
  '.',
  '..',
  'a/../b',
  'a/./b',
  '../a',
  '/a',
  'a/',
  'a//b',
  'a b',
  ' a',
  'a\\b',
  'a\u0000b',
  'caf\u00e9',
  'a:b',
  'x'.repeat(513),
];

export interface ContractOptions {
  /** The largest object the store is made for (a store of records says so); default 5 MiB. */
  readonly maxObjectBytes?: number;
}

export function blobStoreContract(name: string, makeStore: () => Promise<StoreUnderTest>, options: ContractOptions = {}): void {
  const big = Math.min(options.maxObjectBytes ?? 5 * 1024 * 1024, 5 * 1024 * 1024);
  describe(`BlobStore contract: ${name}`, () => {
    let subject: StoreUnderTest;
    let store: BlobStore;

    beforeEach(async () => {
      subject = await makeStore();
      store = subject.store;
    });

    afterEach(async () => {
      await subject.cleanup();
    });

    describe('put and get', () => {
      it(`round-trips small, empty and ${big}-byte objects`, async () => {
        const objects: Array<[string, Uint8Array]> = [
          ['small', text('hello, exam')],
          ['empty', new Uint8Array(0)],
          ['big/largest', randomBytes(big)],
          ['all-bytes', Uint8Array.from({ length: 256 }, (_, i) => i)],
        ];
        for (const [key, data] of objects) await store.put(key, data);
        for (const [key, data] of objects) assertBytes(await store.get(key), data, key);
      });

      it('stores only the bytes of a view, not its whole buffer', async () => {
        const backing = randomBytes(1024);
        const view = backing.subarray(100, 300);
        await store.put('view', view);
        assertBytes(await store.get('view'), Uint8Array.from(view));
      });

      it('overwrites, with longer, shorter and empty values', async () => {
        await store.put('k', text('first'));
        await store.put('k', randomBytes(Math.min(100_000, big)));
        const shorter = text('short');
        await store.put('k', shorter);
        assertBytes(await store.get('k'), shorter);
        await store.put('k', new Uint8Array(0));
        assertBytes(await store.get('k'), new Uint8Array(0));
      });

      it('returns null for a missing key, and for a key that is only a prefix or an extension', async () => {
        assert.equal(await store.get('missing'), null);
        await store.put('rec/1/seg', text('x'));
        assert.equal(await store.get('rec/1'), null);
        assert.equal(await store.get('rec'), null);
        assert.equal(await store.get('rec/1/seg/0'), null);
        assert.equal(await store.get('rec/1/se'), null);
      });

      it('keeps a key and a longer key below it as independent objects', async () => {
        await store.put('a', text('parent'));
        await store.put('a/b', text('child'));
        await store.put('a/b/c', text('grandchild'));
        assertBytes(await store.get('a'), text('parent'));
        assertBytes(await store.get('a/b'), text('child'));
        await store.delete('a/b');
        assertBytes(await store.get('a'), text('parent'));
        assertBytes(await store.get('a/b/c'), text('grandchild'));
        await store.delete('a');
        assertBytes(await store.get('a/b/c'), text('grandchild'));
      });

      it('treats keys as case-sensitive and accepts every allowed character', async () => {
        await store.put('Key', text('upper'));
        await store.put('key', text('lower'));
        const odd = 'A-Z_a.z-0.9/..x/.hidden/-/_/x..y';
        await store.put(odd, text('odd'));
        assertBytes(await store.get('Key'), text('upper'));
        assertBytes(await store.get('key'), text('lower'));
        assertBytes(await store.get(odd), text('odd'));
      });

      it('accepts 512-character keys, with one long segment or many', async () => {
        const oneSegment = 'k'.repeat(512);
        const manySegments = Array.from({ length: 128 }, (_, i) => `s${i % 10}`).join('/').padEnd(511, 'x') + 'z';
        assert.equal(manySegments.length, 512);
        const longLast = `dir/${'L'.repeat(508)}`;
        for (const key of [oneSegment, manySegments, longLast]) {
          await store.put(key, text(key.slice(0, 8)));
          assertBytes(await store.get(key), text(key.slice(0, 8)), key.slice(0, 20));
        }
        assert.deepEqual(await collect(store.list('')), [oneSegment, longLast, manySegments].sort());
        assert.deepEqual(await collect(store.list('k'.repeat(300))), [oneSegment]);
        const underLong = `${'a'.repeat(300)}/b`;
        await store.put(underLong, text('below a long segment'));
        assert.deepEqual(await collect(store.list(`${'a'.repeat(300)}/`)), [underLong]);
        assert.deepEqual(await collect(store.list('a'.repeat(250))), [underLong]);
        await store.delete(underLong);
        await store.delete(oneSegment);
        assert.equal(await store.get(oneSegment), null);
      });
    });

    describe('copies', () => {
      it('is not changed by changing the input after put resolves', async () => {
        const data = text('original content');
        await store.put('copy', data);
        data.fill(0x41);
        assertBytes(await store.get('copy'), text('original content'));
      });

      it('is not changed by changing what get returned', async () => {
        await store.put('copy', text('original content'));
        const first = await store.get('copy');
        assert.ok(first);
        first.fill(0x42);
        assertBytes(await store.get('copy'), text('original content'));
      });
    });

    describe('delete', () => {
      it('removes an object, and is idempotent', async () => {
        await store.put('gone', text('x'));
        await store.delete('gone');
        assert.equal(await store.get('gone'), null);
        await store.delete('gone');
        await store.delete('never/existed/at/all');
        assert.deepEqual(await collect(store.list('')), []);
      });

      it('lets a deleted key be written again', async () => {
        await store.put('again', text('one'));
        await store.delete('again');
        await store.put('again', text('two'));
        assertBytes(await store.get('again'), text('two'));
      });
    });

    describe('list', () => {
      const keys = ['rec/1/seg/000', 'rec/1/seg/001', 'rec/1/meta', 'rec/10/seg/000', 'rec/2/x', 'other', 'r'];

      beforeEach(async () => {
        await Promise.all(keys.map((key) => store.put(key, text(key))));
      });

      it('matches prefixes as plain strings, at any depth', async () => {
        const cases: Array<[string, string[]]> = [
          ['', keys],
          ['rec/1/', ['rec/1/seg/000', 'rec/1/seg/001', 'rec/1/meta']],
          ['rec/1', ['rec/1/seg/000', 'rec/1/seg/001', 'rec/1/meta', 'rec/10/seg/000']],
          ['rec/1/seg/00', ['rec/1/seg/000', 'rec/1/seg/001']],
          ['rec/1/meta', ['rec/1/meta']],
          ['rec/1/meta/', []],
          ['r', keys.filter((k) => k.startsWith('r'))],
          ['rec/', keys.filter((k) => k.startsWith('rec/'))],
          ['o', ['other']],
          ['nothing', []],
          ['rec//', []],
          ['rec/../', []],
        ];
        for (const [prefix, expected] of cases) assert.deepEqual(await collect(store.list(prefix)), [...expected].sort(), `prefix ${JSON.stringify(prefix)}`);
      });

      it('reflects deletes and deep nesting', async () => {
        await store.delete('rec/1/meta');
        const deep = Array.from({ length: 20 }, (_, i) => `d${i}`).join('/');
        await store.put(deep, text('deep'));
        assert.deepEqual(await collect(store.list('rec/1/')), ['rec/1/seg/000', 'rec/1/seg/001']);
        assert.deepEqual(await collect(store.list('d0/d1/')), [deep]);
      });

      it('never shows an object that is still being written', async () => {
        const expected = new Set(keys);
        const writes = Array.from({ length: 30 }, (_, i) => {
          const key = `inflight/${i}`;
          expected.add(key);
          return store.put(key, randomBytes(64 * 1024));
        });
        let listings = 0;
        while (listings < 5) {
          for (const key of await collect(store.list(''))) assert.ok(expected.has(key), `unexpected key listed: ${key}`);
          listings++;
        }
        await Promise.all(writes);
        assert.equal((await collect(store.list('inflight/'))).length, 30);
      });

      it('rejects a prefix outside the key alphabet', async () => {
        for (const prefix of ['a b', 'caf\u00e9', 'x'.repeat(513), 'a\\']) {
          await assert.rejects(collect(store.list(prefix)), BlobKeyError, JSON.stringify(prefix));
        }
      });
    });

    describe('keys', () => {
      it('rejects invalid keys with BlobKeyError in put, get and delete', async () => {
        for (const key of invalidKeys) {
          const label = JSON.stringify(key.slice(0, 20));
          await assert.rejects(store.put(key, text('x')), BlobKeyError, `put ${label}`);
          await assert.rejects(store.get(key), BlobKeyError, `get ${label}`);
          await assert.rejects(store.delete(key), BlobKeyError, `delete ${label}`);
        }
        await assert.rejects(store.put('a b', text('x')), { code: 'EV_ERR_STORAGE_INVALID_KEY' });
        assert.deepEqual(await collect(store.list('')), []);
      });
    });

    describe('concurrency', () => {
      it('keeps 64 concurrent puts to distinct keys', async () => {
        const objects = Array.from({ length: 64 }, (_, i) => [`many/${i % 4}/${i}`, randomBytes((i * 7919) % Math.min(300_000, big))] as const);
        await Promise.all(objects.map(([key, data]) => store.put(key, data)));
        for (const [key, data] of objects) assertBytes(await store.get(key), data, key);
        assert.equal((await collect(store.list('many/'))).length, 64);
      });

      it('leaves one whole value among concurrent puts to one key, and readers never see a partial one', async () => {
        const values = Array.from({ length: 16 }, (_, i) => randomBytes(Math.min(10_000 + i * 40_000, big)));
        const hashes = new Set(values.map(sha256));
        await store.put('contended', values[0] as Uint8Array);
        const writes = Promise.all(values.map((value) => store.put('contended', value)));
        let done = false;
        void writes.finally(() => (done = true)).catch(() => {});
        let reads = 0;
        while (!done || reads < 3) {
          const seen = await store.get('contended');
          assert.ok(seen !== null, 'an overwrite must never make the object disappear');
          assert.ok(hashes.has(sha256(seen)), 'a reader saw a value nobody wrote whole');
          reads++;
        }
        await writes;
        const final = await store.get('contended');
        assert.ok(final && hashes.has(sha256(final)));
        const last = text('after the storm');
        await store.put('contended', last);
        assertBytes(await store.get('contended'), last);
      });

      it('orders a delete issued after a put, and a put issued after a delete', async () => {
        await store.put('seq', text('v1'));
        await Promise.all([store.put('seq', text('v2')), store.delete('seq')]);
        // Concurrent: either order is allowed, but the object is whole or gone.
        const seen = await store.get('seq');
        assert.ok(seen === null || sha256(seen) === sha256(text('v2')));
        await store.delete('seq');
        await store.put('seq', text('v3'));
        assertBytes(await store.get('seq'), text('v3'));
      });
    });

    describe('close', () => {
      it('waits for puts under way, then refuses everything', async () => {
        const data = randomBytes(Math.min(256 * 1024, big));
        const pending = store.put('closing', data);
        await store.close();
        await pending;
        await store.close(); // idempotent
        const closed = (e: unknown) => isStorageError(e, 'EV_ERR_STORAGE_CLOSED');
        await assert.rejects(store.put('x', text('x')), closed);
        await assert.rejects(store.get('closing'), closed);
        await assert.rejects(store.delete('closing'), closed);
        await assert.rejects(collect(store.list('')), closed);
      });
    });
  });
}
