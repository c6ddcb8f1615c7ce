/**
 * Golden runs of the `examvault` command: each test runs the CLI as a subprocess, in a temporary
 * directory, and checks its files, stdout, stderr and exit status. Failures must print exactly one
 * `error: … (CODE)` line and one `hint:` line, and `open` must leave no output (nor temporary file)
 * behind when a recording does not verify.
 *
 * One key pair is generated for the whole file: each unlock costs a 600,000-iteration PBKDF2.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cryptoErrorCodes, fingerprint, fromBase64Url, locateRecords, sealedSize } from '../../src/crypto/index.js';
import { cliErrorCodes, cryptoErrorHints } from '../../src/cli/errors.js';
import { type Run, assertFailure, assertSuccess, cli, root } from './support/run-cli.js';

const passphrase = 'correct horse battery staple';

function randomData(n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
}

let dir: string;
let key: string;
let pub: string;
let passFile: string;
let keyFingerprint: string;

const context = { institution: 'inst-7f3a', region: 'eu-west', exam: 'exam-2026.chem', attempt: 'att:0001', track: 'screen' } as const;

/** The seal flags of `context`; more flags appended. */
function sealArgs(...more: string[]): string[] {
  return [
    'seal', '--recipient', pub, '--institution', context.institution, '--region', context.region, '--exam', context.exam,
    '--attempt', context.attempt, '--track', context.track, '--epoch', '7', ...more,
  ];
}

function openArgs(...more: string[]): string[] {
  return ['open', '--key', key, '--passphrase-file', passFile, ...more];
}

/** Writes `data` to a fresh file, seals it with 1 KiB segments, and returns the sealed file's path. */
async function sealFixture(name: string, data: Uint8Array, ...more: string[]): Promise<string> {
  const input = join(dir, `${name}.bin`);
  const sealed = join(dir, `${name}.evs`);
  writeFileSync(input, data);
  assertSuccess(await cli(sealArgs('--segment-size', '1KiB', ...more, '-o', sealed, input)));
  return sealed;
}

/** A fresh directory holding one file: what a failing `open -o` must leave it as. */
function isolated(name: string, bytes: Uint8Array): { dir: string; file: string } {
  const d = mkdtempSync(join(dir, `${name}-`));
  const file = join(d, 'recording.evs');
  writeFileSync(file, bytes);
  return { dir: d, file };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'examvault-cli-'));
  key = join(dir, 'epoch.key');
  pub = `${key}.pub`;
  passFile = join(dir, 'pass.txt');
  writeFileSync(passFile, `${passphrase}\n`);
  const run = await cli(['keygen', '--out', key, '--passphrase-file', passFile]);
  assertSuccess(run);
  keyFingerprint = run.stdout.toString('utf8').trim();
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('examvault keygen', () => {
  it('writes a 0600 private key, a public key beside it, and prints the fingerprint', async () => {
    assert.match(keyFingerprint, /^[0-9a-f]{64}$/);
    assert.equal(statSync(key).mode & 0o777, 0o600);
    const privateFile = JSON.parse(readFileSync(key, 'utf8')) as { format: string; kdf: { iterations: number } };
    assert.equal(privateFile.format, 'examvault-private-key');
    assert.equal(privateFile.kdf.iterations, 600_000);
    const publicFile = JSON.parse(readFileSync(pub, 'utf8')) as { format: string; publicKey: string };
    assert.equal(publicFile.format, 'examvault-public-key');
    assert.equal(keyFingerprint, await fingerprint(fromBase64Url(publicFile.publicKey) as Uint8Array));
  });

  it('refuses to overwrite an existing key file', async () => {
    const before = readFileSync(key);
    assertFailure(await cli(['keygen', '--out', key, '--passphrase-file', passFile]), 'EV_ERR_CLI_FILE_EXISTS', 1);
    assert.deepEqual(readFileSync(key), before);
  });

  it('refuses fewer than 600,000 iterations, before writing anything', async () => {
    const out = join(dir, 'weak.key');
    const run = await cli(['keygen', '--out', out, '--passphrase-file', passFile, '--iterations', '1000']);
    assertFailure(run, 'EV_ERR_KEYFILE_WEAK_KDF', 2);
    assert.match(run.stderr, /^hint: .*iterations/m);
    assert.equal(existsSync(out), false);
    assert.equal(existsSync(`${out}.pub`), false);
  });

  it('fails without a passphrase source instead of waiting for a terminal', async () => {
    const out = join(dir, 'nopass.key');
    assertFailure(await cli(['keygen', '--out', out]), 'EV_ERR_CLI_NO_PASSPHRASE', 1);
    assert.equal(existsSync(out), false);
  });
});

describe('examvault seal, inspect and open', () => {
  // 0 bytes, within one segment, one exact segment, exact multiples, and a ragged tail.
  const sizes = [0, 1, 1023, 1024, 3 * 1024, 5000];

  it('round-trips byte-identically through -o files', async () => {
    await Promise.all(sizes.map(async (size) => {
      const data = randomData(size);
      const sealed = await sealFixture(`round-${size}`, data);
      const out = join(dir, `round-${size}.out`);
      assertSuccess(await cli(openArgs('-o', out, sealed)));
      assert.deepEqual(readFileSync(out), data, `size ${size}`);
    }));
  });

  it('round-trips a plaintext of exactly two default (1 MiB) segments, to stdout', async () => {
    const data = randomData(2 * 1024 * 1024);
    const input = join(dir, 'two-mib.bin');
    writeFileSync(input, data);
    const sealed = join(dir, 'two-mib.evs');
    assertSuccess(await cli(sealArgs('-o', sealed, input)));
    const { records } = locateRecords(readFileSync(sealed));
    assert.equal(records.length, 2, 'no empty third segment after an exact multiple');
    const run = await cli(openArgs(sealed));
    assertSuccess(run);
    assert.ok(run.stdout.equals(data));
  });

  it('seals stdin (no input argument, and -) to stdout', async () => {
    const data = randomData(2500);
    const [implicit, dash] = await Promise.all([
      cli(sealArgs('--segment-size', '1024'), { input: data }),
      cli(sealArgs('--segment-size', '1KiB', '-'), { input: data }),
    ]);
    assertSuccess(implicit);
    assertSuccess(dash);
    assert.equal(locateRecords(implicit.stdout).records.length, 3);
    // Fresh randomness per run: two seals of one plaintext never match.
    assert.ok(!implicit.stdout.equals(dash.stdout));
    const opened = await Promise.all([implicit.stdout, dash.stdout].map((file) => cli(openArgs('-'), { input: file })));
    for (const run of opened) {
      assertSuccess(run);
      assert.ok(run.stdout.equals(data));
    }
  });

  it('takes the passphrase from EXAMVAULT_PASSPHRASE', async () => {
    const data = randomData(100);
    const sealed = await sealFixture('env', data);
    const run = await cli(['open', '--key', key, sealed], { env: { EXAMVAULT_PASSPHRASE: passphrase } });
    assertSuccess(run);
    assert.ok(run.stdout.equals(data));
  });

  it('inspect prints the header fields given as flags, and the framing counts', async () => {
    const data = randomData(5000);
    const sealed = await sealFixture('inspect', data, '--recording', 'rec-42', '--media-type', 'video/webm;codecs=vp9');
    const run = await cli(['inspect', sealed]);
    assertSuccess(run);
    const report = JSON.parse(run.stdout.toString('utf8')) as Record<string, unknown> & {
      unverified: { records: number; plaintextBytes: number; fileBytes: number; note: string };
    };
    assert.equal(report.formatVersion, 1);
    assert.equal(report.suite, '0x0001');
    assert.deepEqual(report.context, { ...context, recording: 'rec-42', mediaType: 'video/webm;codecs=vp9' });
    assert.equal(report.epoch, 7);
    assert.equal(report.maxSegment, 1024);
    assert.equal(fromBase64Url(report.salt as string)?.length, 32);
    assert.equal(fromBase64Url(report.commitment as string)?.length, 32);
    assert.equal(fromBase64Url(report.enc as string)?.length, 65);
    const headerLength = report.headerLength as number;
    assert.equal(headerLength, locateRecords(readFileSync(sealed)).header.bytes.length);
    assert.equal(report.unverified.records, 5);
    assert.equal(report.unverified.plaintextBytes, 5000);
    assert.equal(report.unverified.fileBytes, sealedSize(5000, 1024, headerLength));
    assert.match(report.unverified.note, /not authenticated/);
  });

  it('gives a random recording id when --recording is left out', async () => {
    const sealed = await sealFixture('random-id', randomData(10));
    const report = JSON.parse((await cli(['inspect', sealed])).stdout.toString('utf8')) as { context: { recording: string } };
    assert.match(report.context.recording, /^[0-9a-f]{32}$/);
  });

  it('--segment N returns exactly that segment', async () => {
    const data = randomData(5000);
    const sealed = await sealFixture('segments', data);
    const runs = await Promise.all([0, 2, 4].map((n) => cli(openArgs('--segment', String(n), sealed))));
    for (const [i, n] of [0, 2, 4].entries()) {
      assertSuccess(runs[i] as Run);
      assert.ok(runs[i]?.stdout.equals(data.subarray(n * 1024, (n + 1) * 1024)), `segment ${n}`);
    }
    const missing = await cli(openArgs('--segment', '5', sealed));
    assertFailure(missing, 'EV_ERR_CLI_SEGMENT_NOT_FOUND', 1);
    assert.equal(missing.stdout.length, 0);
  });

  it('refuses to replace an existing output file without --force', async () => {
    const sealed = await sealFixture('exists', randomData(10));
    const out = join(dir, 'exists.out');
    writeFileSync(out, 'keep me');
    assertFailure(await cli(openArgs('-o', out, sealed)), 'EV_ERR_CLI_FILE_EXISTS', 1);
    assert.equal(readFileSync(out, 'utf8'), 'keep me');
    assertSuccess(await cli(openArgs('--force', '-o', out, sealed)));
    assert.equal(readFileSync(out).length, 10);
  });
});

describe('examvault open refuses what does not verify, and leaves nothing behind', () => {
  let sealed: Buffer;

  before(async () => {
    sealed = readFileSync(await sealFixture('victim', randomData(5000)));
  });

  /** Opens `bytes` to -o and to stdout; both must fail with `code` and write nothing at all. */
  async function assertRefused(name: string, bytes: Uint8Array, code: string): Promise<void> {
    const { dir: d, file } = isolated(name, bytes);
    const out = join(d, 'plain.out');
    const [toFile, toStdout] = await Promise.all([cli(openArgs('-o', out, file)), cli(openArgs(file))]);
    assertFailure(toFile, code, 1);
    assert.deepEqual(readdirSync(d), ['recording.evs'], 'no output and no temporary file');
    assertFailure(toStdout, code, 1);
    assert.equal(toStdout.stdout.length, 0, 'nothing unverified on stdout');
  }

  it('a flipped byte in a later segment', async () => {
    const { records } = locateRecords(sealed);
    const tampered = Buffer.from(sealed);
    const target = records[3] ?? assert.fail('five records');
    tampered.writeUInt8(tampered.readUInt8(target.offset + 100) ^ 0x01, target.offset + 100);
    // Segments 0-2 verify and reach the temporary file before segment 3 fails: it must be deleted.
    await assertRefused('tampered', tampered, 'EV_ERR_CRYPTO_DECRYPTION_FAILED');
  });

  it('a flipped byte in the header context', async () => {
    const tampered = Buffer.from(sealed);
    const at = tampered.indexOf('inst-7f3a');
    tampered[at] = 'j'.charCodeAt(0);
    await assertRefused('header', tampered, 'EV_ERR_CRYPTO_DECRYPTION_FAILED');
  });

  it('a file with its last record removed', async () => {
    const { records } = locateRecords(sealed);
    const last = records.at(-1) ?? assert.fail('records');
    await assertRefused('truncated', sealed.subarray(0, last.offset - 4), 'EV_ERR_FORMAT_NO_FINAL_SEGMENT');
  });

  it('a file cut inside a record', async () => {
    await assertRefused('cut', sealed.subarray(0, sealed.length - 10), 'EV_ERR_FORMAT_TRUNCATED');
  });

  it('a file with bytes after the final segment', async () => {
    await assertRefused('trailing', Buffer.concat([sealed, Buffer.from([0, 0, 0, 16])]), 'EV_ERR_FORMAT_TRAILING_DATA');
  });

  it('a file that is not a sealed recording', async () => {
    await assertRefused('plain', randomData(300), 'EV_ERR_FORMAT_BAD_MAGIC');
  });
});

describe('examvault key and passphrase failures', () => {
  let sealed: string;

  before(async () => {
    sealed = await sealFixture('keys', randomData(100));
  });

  it('a wrong passphrase', async () => {
    const wrong = join(dir, 'wrong.txt');
    writeFileSync(wrong, 'not the passphrase\n');
    const out = join(dir, 'wrong.out');
    const run = await cli(['open', '--key', key, '--passphrase-file', wrong, '-o', out, sealed]);
    assertFailure(run, 'EV_ERR_CRYPTO_DECRYPTION_FAILED', 1);
    assert.match(run.stderr, /^hint: .*passphrase/m);
    assert.equal(existsSync(out), false);
  });

  it('a key file whose iterations were lowered to 1000', async () => {
    const weak = join(dir, 'weak-edited.key');
    const file = JSON.parse(readFileSync(key, 'utf8')) as { kdf: { iterations: number } };
    file.kdf.iterations = 1000;
    writeFileSync(weak, JSON.stringify(file));
    chmodSync(weak, 0o600);
    const run = await cli(['open', '--key', weak, '--passphrase-file', passFile, sealed]);
    assertFailure(run, 'EV_ERR_KEYFILE_WEAK_KDF', 1);
    assert.match(run.stderr, /^hint: .*iterations/m);
  });

  it('a public key file given as --key, and a private key file given as --recipient', async () => {
    assertFailure(await cli(['open', '--key', pub, '--passphrase-file', passFile, sealed]), 'EV_ERR_KEYFILE_MALFORMED', 1);
    const args = sealArgs('-');
    args[args.indexOf('--recipient') + 1] = key;
    assertFailure(await cli(args, { input: randomData(10) }), 'EV_ERR_KEYFILE_MALFORMED', 1);
  });

  it('a key file that is not JSON, and one that does not exist', async () => {
    assertFailure(await cli(['open', '--key', passFile, '--passphrase-file', passFile, sealed]), 'EV_ERR_CLI_NOT_JSON', 1);
    assertFailure(await cli(['open', '--key', join(dir, 'absent.key'), sealed]), 'EV_ERR_CLI_FILE_NOT_FOUND', 1);
  });

  it('no passphrase source, and an empty passphrase', async () => {
    assertFailure(await cli(['open', '--key', key, sealed]), 'EV_ERR_CLI_NO_PASSPHRASE', 1);
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '\n');
    assertFailure(await cli(['open', '--key', key, '--passphrase-file', empty, sealed]), 'EV_ERR_CLI_EMPTY_PASSPHRASE', 1);
  });
});

describe('examvault usage errors', () => {
  const badSeals: ReadonlyArray<readonly [string, readonly string[]]> = [
    ['an unknown track', ['--track', 'video']],
    ['a bad region', ['--region', 'EU']],
    ['a bad id', ['--exam', '-starts-with-dash']],
    ['epoch 0', ['--epoch', '0']],
    ['a segment size over 16 MiB', ['--segment-size', '17MiB']],
    ['an ambiguous size unit', ['--segment-size', '1MB']],
    ['an unknown option', ['--colour', 'blue']],
  ];

  it('bad seal flags exit 2 with an error and a hint, and write nothing', async () => {
    const input = join(dir, 'usage.bin');
    writeFileSync(input, randomData(10));
    const runs = await Promise.all(badSeals.map(([, flags]) => cli([...sealArgs(...flags), '-o', join(dir, 'usage.evs'), input])));
    for (const [i, run] of runs.entries()) {
      assertFailure(run, 'EV_ERR_CLI_USAGE', 2);
      assert.equal(existsSync(join(dir, 'usage.evs')), false, badSeals[i]?.[0]);
    }
  });

  it('a missing required flag, an unknown command, and no command at all', async () => {
    const runs = await Promise.all([
      cli(['seal', '--recipient', pub]),
      cli(['open', '--passphrase-file', passFile, 'x.evs']),
      cli(['frobnicate']),
      cli([]),
    ]);
    for (const run of runs) assertFailure(run, 'EV_ERR_CLI_USAGE', 2);
  });

  it('a missing input file', async () => {
    assertFailure(await cli([...sealArgs(), join(dir, 'absent.bin')]), 'EV_ERR_CLI_FILE_NOT_FOUND', 1);
    assertFailure(await cli(['inspect', join(dir, 'absent.evs')]), 'EV_ERR_CLI_FILE_NOT_FOUND', 1);
  });

  it('--help and --version succeed', async () => {
    const [help, version] = await Promise.all([cli(['seal', '--help']), cli(['--version'])]);
    assertSuccess(help);
    assert.match(help.stdout.toString('utf8'), /--segment-size/);
    assertSuccess(version);
    assert.match(version.stdout.toString('utf8'), /^\d+\.\d+\.\d+\n$/);
  });

  it('--help into a pipe its reader closed first (`examvault --help | head -0`) ends quietly', async () => {
    const { status, stderr } = await cli(['institutions', 'create', '--help'], { closeStdout: true });
    assert.equal(stderr, '');
    assert.equal(status, 0);
  });
});

describe('CLI error documentation', () => {
  it('every crypto error code has a hint', () => {
    for (const code of cryptoErrorCodes) assert.ok(cryptoErrorHints[code]?.length > 10, `no hint for ${code}`);
  });

  it('every CLI error code is in docs/cli.md', () => {
    const doc = readFileSync(join(root, 'docs/cli.md'), 'utf8');
    const missing = cliErrorCodes.filter((code) => !doc.includes(`\`${code}\``));
    assert.deepEqual(missing, []);
  });
});
