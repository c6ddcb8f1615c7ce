/**
 * Golden runs of the operator commands (`institutions create`, `attempts issue`, `keys rotate`,
 * `keys status`) against a real data directory, the CLI a subprocess as an operator runs it. Beyond
 * stdout, stderr and the exit status, each test reads every file the server's storage holds, to check
 * the promises the commands make: the server never sees an institution's private key, an institution
 * lives in its region's cell only, an attempt token is stored only as its hash, and a key rotation
 * re-wraps data keys without rewriting one byte of stored media.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportPrivateKey, fingerprint, fromBase64Url, toBase64Url, toHex, unlockPrivateKey } from '../../src/crypto/index.js';
import { apiErrorHints } from '../../src/cli/errors.js';
import { serverErrorHints } from '../../src/cli/operator/errors.js';
import { apiErrors } from '../../src/protocol/errors.js';
import { loadConfig } from '../../src/server/config.js';
import { openSqlite } from '../../src/server/db/dialect.sqlite.js';
import type { CellDatabase } from '../../src/server/db/schema.js';
import type { ServerConfig } from '../../src/server/config.types.js';
import { regionIds } from '../../src/server/regions/catalog.js';
import { openServices } from '../../src/server/services.js';
import { RECORD_HEADER, logFileName } from '../../src/server/storage/blob-store.log.js';
import { storageErrorCodes } from '../../src/server/storage/errors.js';
import { type StoredFile, filesContaining, readAllFiles } from '../server/support/data-files.js';
import { type Run, assertFailure, assertSuccess, cli } from './support/run-cli.js';

const passphrase = 'correct horse battery staple';

let dir: string;
let passFile: string;

/** A fresh, empty data directory under the test's temporary directory. */
function newDataDir(name: string): string {
  return mkdtempSync(join(dir, `${name}-`));
}

function configFor(dataDir: string): ServerConfig {
  return loadConfig({ env: { EXAMVAULT_DATA_DIR: dataDir }, cwd: dataDir });
}

/** Runs the CLI on `dataDir`, as an operator with EXAMVAULT_DATA_DIR set would. */
function operator(dataDir: string, args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  return cli(args, { env: { EXAMVAULT_DATA_DIR: dataDir, ...env } });
}

function json<T>(run: Run): T {
  return JSON.parse(run.stdout.toString('utf8')) as T;
}

/**
 * Opens every cell of the catalog once (as a server start does) and stores `objects` in the eu cell's
 * blob store, through the same encrypted store the server uses.
 */
async function seed(dataDir: string, objects: ReadonlyMap<string, Uint8Array> = new Map()): Promise<void> {
  const services = await openServices(configFor(dataDir));
  try {
    const blobs = services.cells.get('eu')?.blobs;
    assert.ok(blobs);
    for (const [key, data] of objects) await blobs.put(key, data);
  } finally {
    await services.close();
  }
}

/** The paths (relative to the data directory) of the files that contain `needle`, sorted. */
function where(files: readonly StoredFile[], needle: Uint8Array | string): string[] {
  return filesContaining(files, needle).sort();
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The eu cell's at-rest key records (in its objects' rows of its database), key → SHA-256. */
async function keyRecordHashes(dataDir: string): Promise<Map<string, string>> {
  const db = openSqlite<CellDatabase>(join(dataDir, 'cells/eu/metadata.db'));
  try {
    const rows = await db.selectFrom('log_objects').select(['key', 'record']).where('record', 'is not', null).execute();
    assert.equal((await db.selectFrom('small_objects').select('key').execute()).length, 0, 'every key record is in its object\'s row');
    return new Map(rows.map((r) => [r.key, createHash('sha256').update(r.record as Uint8Array).digest('hex')]));
  } finally {
    await db.destroy();
  }
}

/** Flips the last bit of one key record in the eu cell's database. */
async function damageKeyRecord(dataDir: string, key: string): Promise<void> {
  const db = openSqlite<CellDatabase>(join(dataDir, 'cells/eu/metadata.db'));
  try {
    const row = await db.selectFrom('log_objects').select('record').where('key', '=', key).executeTakeFirstOrThrow();
    assert.ok(row.record, `${key} has its key record in its row`);
    const bytes = Uint8Array.from(row.record);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
    await db.updateTable('log_objects').set({ record: bytes }).where('key', '=', key).execute();
  } finally {
    await db.destroy();
  }
}

/** Where each sealed object of the eu cell is in its log files, and the hash of its record there: a rewrite changes one or the other. */
async function sealedObjects(dataDir: string): Promise<Map<string, string>> {
  const cell = join(dataDir, 'cells/eu');
  const db = openSqlite<CellDatabase>(join(cell, 'metadata.db'));
  try {
    const rows = await db.selectFrom('log_objects').selectAll().execute();
    return new Map(rows.map((r) => {
      const log = readFileSync(join(cell, 'blobs/objects', logFileName(Number(r.file))));
      const record = log.subarray(Number(r.offset), Number(r.offset) + RECORD_HEADER + r.key.length + Number(r.length));
      return [r.key, `${r.file}:${r.offset}:${sha256(record)}`];
    }));
  } finally {
    await db.destroy();
  }
}

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'examvault-operator-'));
  passFile = join(dir, 'pass.txt');
  writeFileSync(passFile, `${passphrase}\n`);
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('examvault institutions create and attempts issue', () => {
  let dataDir: string;
  let keyFile: string;
  let created: { institution: string; region: string; epoch: number; fingerprint: string };

  before(async () => {
    dataDir = newDataDir('institutions');
    // Every cell exists, so the residency checks below look into four cells that could have leaked.
    await seed(dataDir);
    keyFile = join(dir, 'example-epoch-1.key');
    const run = await operator(dataDir, ['institutions', 'create', '--name', 'Example University', '--region', 'eu', '--key-out', keyFile, '--passphrase-file', passFile]);
    assertSuccess(run);
    created = json(run);
  });

  it('prints the institution, its region, epoch 1 and the key fingerprint', () => {
    assert.deepEqual(Object.keys(created), ['institution', 'region', 'epoch', 'fingerprint']);
    assert.match(created.institution, /^inst-[0-9a-z]{20}$/);
    assert.equal(created.region, 'eu');
    assert.equal(created.epoch, 1);
    assert.match(created.fingerprint, /^[0-9a-f]{64}$/);
  });

  it('writes a 0600 private key file that opens with the passphrase and matches the fingerprint', async () => {
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    const unlocked = await unlockPrivateKey(JSON.parse(readFileSync(keyFile, 'utf8')), passphrase);
    assert.equal(await fingerprint(unlocked.publicKey), created.fingerprint);
    const pub = JSON.parse(readFileSync(`${keyFile}.pub`, 'utf8')) as { format: string; publicKey: string };
    assert.equal(pub.format, 'examvault-public-key');
    assert.deepEqual(fromBase64Url(pub.publicKey), unlocked.publicKey);
  });

  it('leaves no byte of the private key in the data directory, in any encoding', async () => {
    const unlocked = await unlockPrivateKey(JSON.parse(readFileSync(keyFile, 'utf8')), passphrase);
    const scalar = await exportPrivateKey(unlocked.privateKey);
    assert.equal(scalar.length, 32);
    const files = await readAllFiles(dataDir);
    assert.ok(files.length > 0);
    for (const form of [scalar, toBase64Url(scalar), Buffer.from(scalar).toString('base64'), toHex(scalar), toHex(scalar).toUpperCase()]) {
      assert.deepEqual(where(files, form), [], 'a form of the private key is stored');
    }
    // The search itself works: the public key, which the server must hold, is found in the eu cell.
    assert.ok(where(files, toBase64Url(unlocked.publicKey)).some((p) => p.startsWith('cells/eu/')));
  });

  it('is known to the directory and the eu cell only', async () => {
    const files = await readAllFiles(dataDir);
    for (const region of regionIds) assert.ok(files.some((f) => f.path.startsWith(`cells/${region}/metadata.db`)), `cell ${region} exists`);
    const holders = where(files, created.institution);
    assert.ok(holders.some((p) => p.startsWith('directory.db')), `the directory knows it: ${holders.join(', ')}`);
    assert.ok(holders.some((p) => p.startsWith('cells/eu/')), `the eu cell knows it: ${holders.join(', ')}`);
    const elsewhere = holders.filter((p) => !p.startsWith('directory.db') && !p.startsWith('cells/eu/'));
    assert.deepEqual(elsewhere, []);
  });

  it('issues an attempt credential, stored as its hash only, in the eu cell', async () => {
    const started = Date.now();
    const run = await operator(dataDir, ['attempts', 'issue', '--institution', created.institution, '--exam', 'chem-101', '--attempt', 'att-0001', '--ttl', '90m']);
    assertSuccess(run);
    const issued = json<{ token: string; institution: string; region: string; exam: string; attempt: string; expiresAt: string }>(run);
    assert.deepEqual(Object.keys(issued), ['token', 'institution', 'region', 'exam', 'attempt', 'expiresAt']);
    assert.match(issued.token, /^ev1\.eu\.[A-Za-z0-9_-]{43}$/);
    assert.deepEqual({ ...issued, token: undefined, expiresAt: undefined },
      { token: undefined, institution: created.institution, region: 'eu', exam: 'chem-101', attempt: 'att-0001', expiresAt: undefined });
    assert.match(issued.expiresAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const expires = Date.parse(issued.expiresAt);
    assert.ok(expires >= started + 90 * 60_000 && expires <= Date.now() + 90 * 60_000, issued.expiresAt);
    assert.match(run.stderr, /shown only this once/);

    const files = await readAllFiles(dataDir);
    assert.deepEqual(where(files, issued.token), [], 'the token is stored');
    assert.deepEqual(where(files, issued.token.split('.')[2] as string), [], 'the token\'s secret part is stored');
    const hash = createHash('sha256').update(issued.token).digest('hex');
    const holders = where(files, hash);
    assert.ok(holders.length > 0 && holders.every((p) => p.startsWith('cells/eu/')), `the hash lives in the eu cell: ${holders.join(', ')}`);
  });

  it('gives a new attempt id and the server\'s default lifetime when they are left out', async () => {
    const started = Date.now();
    const run = await operator(dataDir, ['attempts', 'issue', '--institution', created.institution, '--exam', 'chem-101']);
    assertSuccess(run);
    const issued = json<{ attempt: string; expiresAt: string }>(run);
    assert.match(issued.attempt, /^att-[0-9a-z]{20}$/);
    const ttl = configFor(dataDir).attemptCredentialTtlSeconds * 1000;
    const expires = Date.parse(issued.expiresAt);
    assert.ok(expires >= started + ttl && expires <= Date.now() + ttl, issued.expiresAt);
  });
});

describe('examvault institutions create --no-epoch-key', () => {
  it('makes no key: the institution awaits set-up, with no epoch key stored and no key file written, and its admin can be invited', async () => {
    const dataDir = newDataDir('keyless');
    const before = new Set(readdirSync(dir));
    const run = await operator(dataDir, ['institutions', 'create', '--name', 'Keyless University', '--region', 'eu', '--no-epoch-key']);
    assertSuccess(run);
    const created = json<{ institution: string; region: string; epoch: number; fingerprint: string | null }>(run);
    assert.deepEqual(Object.keys(created), ['institution', 'region', 'epoch', 'fingerprint']);
    assert.match(created.institution, /^inst-[0-9a-z]{20}$/);
    assert.deepEqual({ ...created, institution: undefined }, { institution: undefined, region: 'eu', epoch: 1, fingerprint: null });
    assert.match(run.stderr, /awaits set-up by its first admin/);
    assert.deepEqual(readdirSync(dir).filter((n) => !before.has(n)), [], 'no file written beside the data directory');
    const db = openSqlite<CellDatabase>(join(dataDir, 'cells/eu/metadata.db'));
    try {
      assert.equal((await db.selectFrom('institutions').select('id').where('id', '=', created.institution).execute()).length, 1);
      assert.deepEqual(await db.selectFrom('epoch_keys').selectAll().where('institution_id', '=', created.institution).execute(), []);
    } finally {
      await db.destroy();
    }
    const invite = await operator(dataDir, ['admins', 'invite', '--institution', created.institution], { EXAMVAULT_PUBLIC_ORIGIN: 'https://examvault.example' });
    assertSuccess(invite);
    assert.match(invite.stdout.toString('utf8'), /https:\/\/examvault\.example\/staff\/setup#evi1\.eu\./);
  });

  it('takes either --no-epoch-key or --key-out: both, or neither, is a usage error and registers nothing', async () => {
    const dataDir = newDataDir('keyless-usage');
    for (const [args, hint] of [
      [['--no-epoch-key', '--key-out', join(dir, 'never.key')], /hint: drop --key-out and --passphrase-file, or --no-epoch-key/],
      [['--no-epoch-key', '--passphrase-file', passFile], /hint: drop --key-out/],
      [[], /hint: pass --no-epoch-key to let the first admin's console generate it at set-up, or --key-out <file>/],
    ] as const) {
      const run = await operator(dataDir, ['institutions', 'create', '--name', 'Usage U', '--region', 'eu', ...args]);
      assertFailure(run, 'EV_ERR_CLI_USAGE', 2);
      assert.match(run.stderr, hint);
    }
    assert.ok(!existsSync(join(dir, 'never.key')));
    assert.deepEqual(where(await readAllFiles(dataDir), 'Usage U'), [], 'nothing registered');
  });
});

describe('examvault keys rotate and keys status', () => {
  const objects = new Map<string, Uint8Array>([
    ['inst-a/rec-1/header', randomBytes(300)],
    ['inst-a/rec-1/seg/0', randomBytes(70_000)],
    ['inst-a/rec-1/seg/1', randomBytes(1)],
    ['inst-b/rec-9/seg/0', randomBytes(5000)],
  ]);
  let dataDir: string;

  before(async () => {
    dataDir = newDataDir('rotate');
    await seed(dataDir, objects);
  });

  it('re-wraps every data key under version 2 without rewriting a stored object', async () => {
    const objectsBefore = await sealedObjects(dataDir);
    const recordsBefore = await keyRecordHashes(dataDir);
    assert.equal(objectsBefore.size, objects.size);

    const run = await operator(dataDir, ['keys', 'rotate', '--region', 'eu']);
    assertSuccess(run);
    assert.deepEqual(json(run), { region: 'eu', keyId: 'eu-kek', version: 2, rewrapped: objects.size, upToDate: 0, failed: 0 });
    assert.match(run.stderr, /eu-kek version 2 is current \(was 1\)/);
    assert.match(run.stderr, new RegExp(`data keys of ${objects.size} stored objects`));
    assert.match(run.stderr, new RegExp(`eu: ${objects.size} re-wrapped, 0 already current, 0 failed`));

    assert.deepEqual(await sealedObjects(dataDir), objectsBefore, 'the sealed objects are byte-identical, where they were');
    const recordsAfter = await keyRecordHashes(dataDir);
    assert.deepEqual([...recordsAfter.keys()].sort(), [...recordsBefore.keys()].sort());
    for (const [path, hash] of recordsAfter) assert.notEqual(hash, recordsBefore.get(path), `key record ${path} was re-wrapped`);

    const services = await openServices(configFor(dataDir));
    try {
      const blobs = services.cells.get('eu')?.blobs;
      for (const [key, data] of objects) assert.deepEqual(await blobs?.get(key), data, `${key} reads back`);
    } finally {
      await services.close();
    }
  });

  it('lists the versions, the current one marked, and no key material', async () => {
    const run = await operator(dataDir, ['keys', 'status', '--region', 'eu']);
    assertSuccess(run);
    const status = json<{ region: string; keyId: string; current: number; versions: { version: number; createdAt: string; current: boolean }[] }>(run);
    assert.equal(status.region, 'eu');
    assert.equal(status.keyId, 'eu-kek');
    assert.equal(status.current, 2);
    assert.deepEqual(status.versions.map((v) => [v.version, v.current]), [[1, false], [2, true]]);
    for (const v of status.versions) assert.deepEqual(Object.keys(v), ['version', 'createdAt', 'current']);
    const keyring = JSON.parse(readFileSync(join(dataDir, 'cells/eu/keyring/keyring.json'), 'utf8')) as { versions: { key: string }[] };
    const output = run.stdout.toString('utf8') + run.stderr;
    for (const { key } of keyring.versions) {
      assert.ok(!output.includes(key), 'a key is printed');
      assert.ok(!output.includes(Buffer.from(key, 'base64').toString('hex')), 'a key is printed in hex');
    }
  });

  it('rotates again: version 3, everything re-wrapped once more, other cells untouched', async () => {
    const usKeyring = readFileSync(join(dataDir, 'cells/us/keyring/keyring.json'));
    const run = await operator(dataDir, ['keys', 'rotate', '--region', 'eu']);
    assertSuccess(run);
    assert.deepEqual(json(run), { region: 'eu', keyId: 'eu-kek', version: 3, rewrapped: objects.size, upToDate: 0, failed: 0 });
    assert.deepEqual(readFileSync(join(dataDir, 'cells/us/keyring/keyring.json')), usKeyring);
  });

  it('exits 1 naming the key records it could not re-wrap, and re-wraps the rest', async () => {
    const broken = newDataDir('rotate-broken');
    await seed(broken, new Map([['inst-a/ok', randomBytes(10)], ['inst-a/damaged', randomBytes(10)]]));
    await damageKeyRecord(broken, 'inst-a/damaged');

    const run = await operator(broken, ['keys', 'rotate', '--region', 'eu']);
    assertFailure(run, 'EV_ERR_CLI_REWRAP_FAILED', 1);
    assert.deepEqual(json(run), { region: 'eu', keyId: 'eu-kek', version: 2, rewrapped: 1, upToDate: 0, failed: 1 });
    assert.match(run.stderr, /failed: inst-a\/damaged \(EV_ERR_AT_REST_INTEGRITY\)/);
  });
});

describe('examvault operator commands refuse bad input with an error and a hint', () => {
  let dataDir: string;
  let institution: string;

  before(async () => {
    dataDir = newDataDir('failures');
    const run = await operator(dataDir, ['institutions', 'create', '--name', 'Failures U', '--region', 'ca', '--key-out', join(dir, 'failures.key'), '--passphrase-file', passFile]);
    assertSuccess(run);
    institution = json<{ institution: string }>(run).institution;
  });

  it('an unknown region, listing the regions', async () => {
    for (const args of [
      ['institutions', 'create', '--name', 'X', '--region', 'mars', '--key-out', join(dir, 'never.key'), '--passphrase-file', passFile],
      ['keys', 'rotate', '--region', 'mars'],
      ['keys', 'status', '--region', 'mars'],
    ]) {
      const run = await operator(dataDir, args);
      assertFailure(run, 'EV_ERR_CLI_USAGE', 2);
      assert.match(run.stderr, /hint: --region is one of us \(United States\), ca \(Canada\), eu/);
    }
    assert.ok(!existsSync(join(dir, 'never.key')));
  });

  it('a region this deployment does not serve', async () => {
    const run = await operator(dataDir, ['institutions', 'create', '--name', 'X', '--region', 'eu', '--key-out', join(dir, 'never.key'), '--passphrase-file', passFile],
      { EXAMVAULT_REGIONS: 'us,ca' });
    assertFailure(run, 'EV_ERR_CLI_REGION_NOT_SERVED', 1);
    assert.match(run.stderr, /hint: choose one of us, ca/);
    assert.ok(!existsSync(join(dir, 'never.key')));
  });

  it('a missing --name', async () => {
    const run = await operator(dataDir, ['institutions', 'create', '--region', 'eu', '--key-out', join(dir, 'never.key'), '--passphrase-file', passFile]);
    assertFailure(run, 'EV_ERR_CLI_USAGE', 2);
    assert.match(run.stderr, /--name/);
    assert.match(run.stderr, /hint: run `examvault institutions create --help`/);
  });

  it('a name the service refuses: nothing registered, and the key files removed again', async () => {
    const key = join(dir, 'refused.key');
    const run = await operator(dataDir, ['institutions', 'create', '--name', 'Line\nbreak', '--region', 'eu', '--key-out', key, '--passphrase-file', passFile]);
    assertFailure(run, 'EV_ERR_API_BAD_REQUEST', 1);
    assert.match(run.stderr, /hint: --name is 1-200 printable characters/);
    assert.ok(!existsSync(key) && !existsSync(`${key}.pub`), 'the key files are gone');
    assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.refused.key')), [], 'no temporary file is left');
    assert.deepEqual(where(await readAllFiles(dataDir), 'Line\nbreak'), [], 'the institution is not stored');
  });

  it('an existing key file, refused before anything is registered', async () => {
    const key = join(dir, 'existing.key');
    writeFileSync(key, 'precious');
    const run = await operator(dataDir, ['institutions', 'create', '--name', 'X', '--region', 'eu', '--key-out', key, '--passphrase-file', passFile]);
    assertFailure(run, 'EV_ERR_CLI_FILE_EXISTS', 1);
    assert.equal(readFileSync(key, 'utf8'), 'precious');
  });

  it('an unknown institution', async () => {
    const run = await operator(dataDir, ['attempts', 'issue', '--institution', 'inst-00000000000000000000', '--exam', 'chem-101']);
    assertFailure(run, 'EV_ERR_API_NOT_FOUND', 1);
    assert.match(run.stderr, /hint: pass the id `examvault institutions create` printed/);
  });

  it('a bad --ttl: not a lifetime (usage), or one the service does not allow', async () => {
    for (const ttl of ['soon', '5x', '-5', '0', '1.5h']) {
      const run = await operator(dataDir, ['attempts', 'issue', '--institution', institution, '--exam', 'chem-101', '--ttl', ttl]);
      assertFailure(run, 'EV_ERR_CLI_USAGE', 2);
      assert.match(run.stderr, /hint: --ttl is a lifetime in whole seconds/);
    }
    for (const ttl of ['59', '8d']) {
      const run = await operator(dataDir, ['attempts', 'issue', '--institution', institution, '--exam', 'chem-101', '--ttl', ttl]);
      assertFailure(run, 'EV_ERR_API_BAD_REQUEST', 1);
      assert.match(run.stderr, /hint: --ttl is 60 seconds to 7 days/);
    }
  });

  it('a bad --exam id, refused before the data directory is opened', async () => {
    const run = await operator(dataDir, ['attempts', 'issue', '--institution', institution, '--exam', 'chem 101']);
    assertFailure(run, 'EV_ERR_CLI_USAGE', 2);
  });

  it('a data directory or cell that does not exist, which is not created', async () => {
    const missing = join(dir, 'no-such-data');
    for (const args of [['attempts', 'issue', '--institution', institution, '--exam', 'chem-101'], ['keys', 'status', '--region', 'eu'], ['keys', 'rotate', '--region', 'eu']]) {
      const run = await operator(missing, args);
      assertFailure(run, 'EV_ERR_CLI_NO_DATA', 1);
      assert.match(run.stderr, /hint: the data directory is .*no-such-data: point --config or EXAMVAULT_DATA_DIR/);
    }
    assert.ok(!existsSync(missing));
    // A cell never opened: no command here has touched au.
    const run = await operator(dataDir, ['keys', 'status', '--region', 'au']);
    assertFailure(run, 'EV_ERR_CLI_NO_DATA', 1);
    assert.ok(!existsSync(join(dataDir, 'cells/au')));
  });

  it('a configuration file that does not exist, with the server\'s own code and hint', async () => {
    const run = await operator(dataDir, ['keys', 'status', '--region', 'ca', '--config', join(dir, 'missing.json')]);
    assertFailure(run, 'EV_ERR_CONFIG_FILE_NOT_FOUND', 1);
    assert.match(run.stderr, /hint: check the path given by --config/);
  });

  it('a keyring readable by others, with the storage code and a chmod 600 hint', async () => {
    const keyring = join(dataDir, 'cells/ca/keyring/keyring.json');
    chmodSync(keyring, 0o644);
    try {
      const run = await operator(dataDir, ['keys', 'status', '--region', 'ca']);
      assertFailure(run, 'EV_ERR_KEYRING_PERMISSIONS', 1);
      assert.match(run.stderr, /hint: .*chmod 600/);
    } finally {
      chmodSync(keyring, 0o600);
    }
    assertSuccess(await operator(dataDir, ['keys', 'status', '--region', 'ca']));
  });

  it('a command group without its subcommand points at the group\'s help', async () => {
    const run = await operator(dataDir, ['keys']);
    assertFailure(run, 'EV_ERR_CLI_USAGE', 2);
    assert.match(run.stderr, /hint: run `examvault keys --help`/);
  });
});

describe('operator error hints', () => {
  it('every storage and API code has a hint', () => {
    for (const code of storageErrorCodes) assert.ok(serverErrorHints[code].length > 10, `no hint for ${code}`);
    for (const code of Object.keys(apiErrors) as (keyof typeof apiErrors)[]) assert.ok(apiErrorHints[code].length > 10, `no hint for ${code}`);
  });
});
