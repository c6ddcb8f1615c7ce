/**
 * Parsers for flag values, used as commander argument parsers. Each throws a usage error (exit 2)
 * naming the flag, the value and the rule, so a bad flag fails before any key is touched.
 *
 * Context fields are checked with the crypto core's own `contextProblem`, so the CLI cannot drift from
 * the rules a reader enforces (docs/SPEC.md §5).
 */
import { type RecordingContext, type Track, MIN_PBKDF2_ITERATIONS, MAX_PBKDF2_ITERATIONS, MAX_SEGMENT_LIMIT, contextProblem, tracks } from '../crypto/index.js';
import { CliError, EXIT_USAGE, usageError } from './errors.js';

/** A context every rule accepts; one field at a time is replaced by the value under test. */
const validContext: RecordingContext = {
  institution: 'i',
  region: 'xx',
  exam: 'e',
  attempt: 'a',
  recording: 'r',
  track: 'camera',
  mediaType: '',
};

const fieldHints: Record<string, string> = {
  institution: 'ids are 1-64 characters of [A-Za-z0-9._:-], starting with a letter or digit, e.g. inst-7f3a',
  exam: 'ids are 1-64 characters of [A-Za-z0-9._:-], starting with a letter or digit, e.g. exam-2026-chem',
  attempt: 'ids are 1-64 characters of [A-Za-z0-9._:-], starting with a letter or digit, e.g. att-0001',
  recording: 'ids are 1-64 characters of [A-Za-z0-9._:-], starting with a letter or digit; omit --recording for a random one',
  region: 'a region is 2-16 characters of lowercase letters, digits and -, starting with a letter, e.g. eu or us-east',
  mediaType: 'a media type is at most 127 printable ASCII characters, e.g. video/webm;codecs=vp9',
};

const flagOf: Record<string, string> = { mediaType: '--media-type' };

/** Returns a parser that checks one context field against the format's rules. */
export function contextField(field: 'institution' | 'region' | 'exam' | 'attempt' | 'recording' | 'mediaType'): (value: string) => string {
  return (value) => {
    const problem = contextProblem({ ...validContext, [field]: value });
    if (problem) {
      throw usageError(`invalid ${flagOf[field] ?? `--${field}`} '${value}': ${problem}`, fieldHints[field] ?? 'see --help');
    }
    return value;
  };
}

/**
 * Returns a parser for a custody id flag (`--member`): the id rule of docs/KEY-CUSTODY.md §2, which is
 * the recording context's (SPEC §5), checked by the same function.
 */
export function idFlag(flag: string, example: string): (value: string) => string {
  return (value) => {
    const problem = contextProblem({ ...validContext, institution: value });
    if (problem) throw usageError(`invalid ${flag} '${value}': ${problem.replace(/^institution/, 'the id')}`, `ids are 1-64 characters of [A-Za-z0-9._:-], starting with a letter or digit, e.g. ${example}`);
    return value;
  };
}

/** Parses `--role`: whose keys `custody keygen` makes. */
export function parseRole(value: string): 'admin' | 'reviewer' {
  if (value !== 'admin' && value !== 'reviewer') throw usageError(`invalid --role '${value}'`, '--role is reviewer or admin');
  return value;
}

/**
 * Parses `--safety-number`: 40 digits, in groups or not (spaces and dashes do not count, as in
 * docs/KEY-CUSTODY.md §4). Anything else is a typing slip, refused before any key is touched.
 */
export function parseSafetyNumber(value: string): string {
  const digits = value.replace(/[\s-]/g, '');
  if (!/^\d{40}$/.test(digits)) {
    throw usageError(`invalid --safety-number: expected 40 digits, got ${digits.length} characters`,
      'type the 8 groups of 5 digits the member reads out from their own screen, in quotes: --safety-number "12345 67890 …"');
  }
  return value;
}

/** Parses `--track`: one of the four tracks of docs/SPEC.md §5. */
export function parseTrack(value: string): Track {
  const track = tracks.find((t) => t === value);
  if (!track) throw usageError(`invalid --track '${value}'`, `--track is one of ${tracks.join(', ')}`);
  return track;
}

function parseInteger(flag: string, value: string, min: number, max: number, hint: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw usageError(`invalid ${flag} '${value}': expected an integer ${min}..${max}`, hint);
  return n;
}

/** Parses `--epoch`: a u32 of at least 1 (docs/SPEC.md §5). */
export function parseEpoch(value: string): number {
  return parseInteger('--epoch', value, 1, 0xffffffff, 'the epoch is the number of the institution key pair the recipient key belongs to, starting at 1');
}

/** Parses `--segment`: a segment index, from 0. */
export function parseSegmentIndex(value: string): number {
  return parseInteger('--segment', value, 0, 0xffffffff, 'segments are numbered from 0; `examvault inspect` shows how many a file has');
}

/**
 * Parses `--iterations`. Too few (or too many) is the crypto core's weak-KDF refusal, raised here with
 * its own code so it fails before the passphrase prompt rather than after.
 */
export function parseIterations(value: string): number {
  const n = parseInteger('--iterations', value, 1, Number.MAX_SAFE_INTEGER, `--iterations takes a whole number, at least ${MIN_PBKDF2_ITERATIONS}`);
  if (n < MIN_PBKDF2_ITERATIONS || n > MAX_PBKDF2_ITERATIONS) {
    throw new CliError('EV_ERR_KEYFILE_WEAK_KDF', `refusing --iterations ${n}: ExamVault requires ${MIN_PBKDF2_ITERATIONS}..${MAX_PBKDF2_ITERATIONS}`,
      `PBKDF2 needs at least ${MIN_PBKDF2_ITERATIONS} iterations to slow down passphrase guessing; omit --iterations for the default`, EXIT_USAGE);
  }
  return n;
}

const sizeUnits: Record<string, number> = { '': 1, b: 1, k: 1024, kib: 1024, m: 1024 * 1024, mib: 1024 * 1024 };

/**
 * Parses a byte size: a whole number with an optional binary unit (B, K/KiB, M/MiB, any case), e.g.
 * `65536`, `64KiB`, `1MiB`. KB and MB are refused: whether they mean 1000 or 1024 is ambiguous.
 */
export function parseSize(value: string): number {
  const m = /^(\d+)\s*([a-z]*)$/i.exec(value.trim());
  const unit = m ? sizeUnits[(m[2] ?? '').toLowerCase()] : undefined;
  const n = m && unit !== undefined ? Number(m[1]) * unit : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_SEGMENT_LIMIT) {
    throw usageError(`invalid --segment-size '${value}': expected 1 byte to 16MiB`, 'write a byte count with an optional binary unit: 65536, 64KiB, 1MiB (KiB = 1024 bytes)');
  }
  return n;
}
