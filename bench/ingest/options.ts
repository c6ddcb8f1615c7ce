/** Command-line flags of `npm run bench:ingest` (docs/BENCHMARKS.md lists them). */

export const serverKinds = ['examvault', 'tus', 'discard'] as const;
export type ServerKind = (typeof serverKinds)[number];

export interface IngestOptions {
  /** Simulated test takers in the paced run. */
  readonly takers: number;
  /** Keep-alive connections each paced taker may open (its three uploads run in parallel on up to this many). */
  readonly connections: number;
  /** Measured window of each paced run, seconds. */
  readonly seconds: number;
  /** Warm-up before each paced window, seconds (connections, JIT, first segments). */
  readonly warmup: number;
  /** Concurrent closed-loop uploaders in the max-throughput run. */
  readonly concurrency: number;
  /** Measured window of each max-throughput run, seconds. */
  readonly maxSeconds: number;
  /** Warm-up before each max-throughput window, seconds. */
  readonly maxWarmup: number;
  /** Max-throughput rounds, interleaved across the servers; medians are reported. */
  readonly rounds: number;
  /** A taker's three segments due together go in one request (POST /v1/segments), where the server has one. */
  readonly batch: boolean;
  /** Distinct sealed bodies per track in the reused pool. */
  readonly pool: number;
  readonly servers: readonly ServerKind[];
  readonly paced: boolean;
  readonly max: boolean;
  /** Paced runs: pin the server to one core and the load generator to the other (default: they share the machine). */
  readonly pinPaced: boolean;
  /** Max-throughput runs: the same (default: pinned). */
  readonly pinMax: boolean;
  /** Rebuild dist/ (npm run build) before starting ExamVault from it. */
  readonly build: boolean;
  /** Directory for a V8 CPU profile of each ExamVault server child (node --cpu-prof), or null. */
  readonly cpuProf: string | null;
  readonly quick: boolean;
}

export const usage = `usage: npm run bench:ingest -- [options]

  --takers N         simulated test takers in the paced run (default 1000; --quick 200)
  --connections N    keep-alive connections per paced taker, 1-3 (default 1)
  --seconds N        measured window of each paced run (default 30; --quick 8)
  --warmup N         warm-up before each paced window (default 10; --quick 4)
  --concurrency N    closed-loop uploaders in the max-throughput run (default 64)
  --max-seconds N    measured window of each max-throughput run (default 12; --quick 6)
  --max-warmup N     warm-up before each max-throughput window (default 4; --quick 3)
  --rounds N         max-throughput rounds, interleaved across servers (default 3; --quick 1)
  --pool N           distinct sealed bodies per track (default 16)
  --per-segment      one request per segment (PUT .../segments/{n}) instead of a taker's three
                     segments due together in one POST /v1/segments, as the recorder sends them
  --only a,b         servers to run: examvault, tus, discard (default all three)
  --paced-only       skip the max-throughput runs
  --max-only         skip the paced runs
  --pin              pin the server and the load generator to separate cores in the paced
                     runs too (by default they share the machine there; max-throughput runs pin)
  --no-pin           pin in no run, max-throughput runs included
  --no-build         start ExamVault from the existing dist/ without rebuilding it
  --cpu-prof DIR     write a V8 CPU profile of each ExamVault server child into DIR
  --quick            a short smoke run (about two minutes)
`;

export class UsageError extends Error {}

export function parseOptions(argv: readonly string[]): IngestOptions {
  const quick = argv.includes('--quick');
  const values = new Map<string, string>();
  const flags = new Set<string>();
  const valued = ['takers', 'connections', 'seconds', 'warmup', 'concurrency', 'max-seconds', 'max-warmup', 'rounds', 'pool', 'only', 'cpu-prof'];
  const bare = ['per-segment', 'quick', 'paced-only', 'max-only', 'pin', 'no-pin', 'no-build', 'help'];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const name = arg.replace(/^--/, '').split('=')[0] as string;
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
    if (valued.includes(name)) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      if (value === undefined || value === '') throw new UsageError(`--${name} needs a value`);
      values.set(name, value);
    } else if (bare.includes(name)) {
      flags.add(name);
    } else {
      throw new UsageError(`unknown option ${arg}`);
    }
  }
  if (flags.has('help')) throw new UsageError('');
  const num = (name: string, fallback: number, min: number): number => {
    const raw = values.get(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min) throw new UsageError(`--${name} must be a number ≥ ${min}, got ${JSON.stringify(raw)}`);
    return n;
  };
  const only = values.get('only');
  const servers = only === undefined ? [...serverKinds] : only.split(',').map((s) => s.trim());
  for (const s of servers) if (!(serverKinds as readonly string[]).includes(s)) throw new UsageError(`--only: unknown server ${JSON.stringify(s)} (known: ${serverKinds.join(', ')})`);
  if (flags.has('paced-only') && flags.has('max-only')) throw new UsageError('--paced-only and --max-only exclude each other');
  if (flags.has('pin') && flags.has('no-pin')) throw new UsageError('--pin and --no-pin exclude each other');
  return {
    takers: Math.floor(num('takers', quick ? 200 : 1000, 1)),
    connections: Math.min(3, Math.floor(num('connections', 1, 1))),
    seconds: num('seconds', quick ? 8 : 30, 1),
    warmup: num('warmup', quick ? 4 : 10, 0),
    concurrency: Math.floor(num('concurrency', 64, 1)),
    maxSeconds: num('max-seconds', quick ? 6 : 12, 1),
    maxWarmup: num('max-warmup', quick ? 3 : 4, 0),
    rounds: Math.floor(num('rounds', quick ? 1 : 3, 1)),
    batch: !flags.has('per-segment'),
    pool: Math.floor(num('pool', 16, 1)),
    servers: serverKinds.filter((k) => servers.includes(k)),
    paced: !flags.has('max-only'),
    max: !flags.has('paced-only'),
    pinPaced: flags.has('pin'),
    pinMax: !flags.has('no-pin'),
    build: !flags.has('no-build'),
    cpuProf: values.get('cpu-prof') ?? null,
    quick,
  };
}
