/**
 * The load generator: simulated test takers uploading sealed segments over keep-alive HTTPS, and the
 * per-request protocol of each server under test.
 *
 * Paced run: each taker seals a segment of each of its three recordings every 2 s, on its own
 * timeline (a random phase in [0, 2 s)), and uploads the three at once: in one request where the
 * server takes several segments in one (`batch`, as the recorder sends them), otherwise one request
 * each, over up to `connections` keep-alive connections of its own (default one: a recorder's ordered
 * upload queue, or any HTTP/2 browser; three is a browser running three uploads in parallel over
 * HTTP/1.1). Takers join at random times during the first half of the warm-up. A segment's
 * acknowledgement latency runs from the moment its request is issued to the end of the 2xx response;
 * when a response takes longer than 2 s, the taker's next request waits in its connection pool and
 * that wait is counted too. Segments due during the warm-up are sent but not measured.
 *
 * Max-throughput run: `concurrency` uploaders, each one taker with one keep-alive connection, send
 * the same three tracks' segments back to back (together, or camera, screen, audio, camera, ...),
 * each request issued as soon as the previous one is acknowledged. What completes inside the window
 * counts.
 */
import { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { Agent, request } from 'node:https';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { type BatchReceipts, SEGMENTS_HEADER, segmentsHeader } from '../../src/protocol/upload.js';
import type { ServerKind } from './options.js';
import { type BenchRecording, type BenchTaker, type Provisioned, SEGMENT_SECONDS, mapLimit } from './provision.js';

export interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly ca: string;
}

interface RequestSpec {
  readonly method: string;
  readonly path: string;
  readonly headers: OutgoingHttpHeaders;
}

/** One segment to send: which recording, which index, its sealed bytes. */
export interface Part {
  readonly recording: BenchRecording;
  readonly index: number;
  readonly body: Buffer;
}

/** How one server under test takes segments, and what counts as their acknowledgement. */
export interface Protocol {
  readonly kind: ServerKind;
  segment(taker: BenchTaker, recording: BenchRecording, index: number, body: Buffer): RequestSpec;
  /** null when the response acknowledges the segment, otherwise what is wrong with it. */
  check(status: number, headers: IncomingHttpHeaders, body: Buffer, sent: Buffer): string | null;
  /** Where the protocol has one: a request carrying several segments (`sent` is their bytes joined), and its check. */
  readonly batch?: {
    request(taker: BenchTaker, parts: readonly Part[], sent: Buffer): RequestSpec;
    check(status: number, headers: IncomingHttpHeaders, body: Buffer, parts: readonly Part[]): string | null;
  };
}

const examvaultRequest = (taker: BenchTaker, recording: BenchRecording, index: number, body: Buffer): RequestSpec => ({
  method: 'PUT',
  path: `/v1/recordings/${recording.id}/segments/${index}`,
  headers: { authorization: `Bearer ${taker.token}`, 'content-type': 'application/octet-stream', 'content-length': body.length },
});

const examvaultBatch = (taker: BenchTaker, parts: readonly Part[], sent: Buffer): RequestSpec => ({
  method: 'POST',
  path: '/v1/segments',
  headers: {
    authorization: `Bearer ${taker.token}`,
    'content-type': 'application/octet-stream',
    'content-length': sent.length,
    [SEGMENTS_HEADER]: segmentsHeader(parts.map((p) => ({ recording: p.recording.id, index: p.index, size: p.body.length }))),
  },
});

/** null when `body` holds a new receipt for each of `parts`, in order, for their very bytes. */
function checkReceipts(status: number, body: Buffer, parts: readonly Part[]): string | null {
  if (status !== 200) return `HTTP ${status} ${body.toString('utf8').slice(0, 300)}`;
  const { receipts } = JSON.parse(body.toString('utf8')) as BatchReceipts;
  const fits = receipts.length === parts.length && parts.every((p, i) => {
    const r = receipts[i];
    return r?.recording === p.recording.id && r.index === p.index && r.size === p.body.length && r.created;
  });
  return fits ? null : `200 with receipts for other segments: ${body.toString('utf8').slice(0, 300)}`;
}

export const protocols: Record<ServerKind, Protocol> = {
  examvault: {
    kind: 'examvault',
    segment: examvaultRequest,
    check: (status, _headers, body) => (status === 201 ? null : `HTTP ${status} ${body.toString('utf8').slice(0, 300)}`),
    batch: { request: examvaultBatch, check: (status, _headers, body, parts) => checkReceipts(status, body, parts) },
  },
  // The same requests, byte for byte, as ExamVault gets.
  discard: {
    kind: 'discard',
    segment: examvaultRequest,
    check: (status) => (status === 201 ? null : `HTTP ${status}`),
    batch: { request: examvaultBatch, check: (status) => (status === 201 ? null : `HTTP ${status}`) },
  },
  // creation-with-upload: one POST per segment carries the whole upload. The credential is sent
  // too, so the bytes on the wire match, though the tus server does not check it.
  tus: {
    kind: 'tus',
    segment: (taker, recording, index, body) => ({
      method: 'POST',
      path: '/files',
      headers: {
        authorization: `Bearer ${taker.token}`,
        'tus-resumable': '1.0.0',
        'upload-length': body.length,
        'upload-metadata': `recording ${Buffer.from(recording.id).toString('base64')},index ${Buffer.from(String(index)).toString('base64')}`,
        'content-type': 'application/offset+octet-stream',
        'content-length': body.length,
      },
    }),
    check: (status, headers, body, sent) => {
      if (status !== 201) return `HTTP ${status} ${body.toString('utf8').slice(0, 300)}`;
      if (headers['upload-offset'] !== String(sent.length)) return `201 with Upload-Offset ${String(headers['upload-offset'])}, expected ${sent.length}`;
      return null;
    },
  },
};

interface Outcome {
  readonly error: string | null;
  /** 503 answers with Retry-After (admission control) waited out and sent again before this outcome. */
  readonly busy: number;
  /** Milliseconds from issuing the request to the end of the response. */
  readonly latencyMs: number;
  /** performance.now() at the end of the response. */
  readonly doneAt: number;
}

/** A request with no response at all for this long fails (the socket is idle: nothing moves). */
const REQUEST_TIMEOUT_MS = 120_000;

/** Gives up on a request refused as busy (503 with Retry-After) this many times in a row. */
const MAX_BUSY_RETRIES = 60;

type Check = (status: number, headers: IncomingHttpHeaders, body: Buffer) => string | null;

/**
 * The requests that carry `parts` (one taker's segments due together): one request for all of them
 * where the protocol has one and `batch` is on, otherwise one request each.
 */
function uploads(protocol: Protocol, taker: BenchTaker, parts: readonly Part[], batch: boolean): Array<{ spec: RequestSpec; body: Buffer; check: Check; parts: readonly Part[] }> {
  const b = protocol.batch;
  if (batch && b && parts.length > 1) {
    const body = Buffer.concat(parts.map((p) => p.body));
    return [{ spec: b.request(taker, parts, body), body, check: (status, headers, reply) => b.check(status, headers, reply, parts), parts }];
  }
  return parts.map((p) => ({
    spec: protocol.segment(taker, p.recording, p.index, p.body),
    body: p.body,
    check: (status: number, headers: IncomingHttpHeaders, reply: Buffer) => protocol.check(status, headers, reply, p.body),
    parts: [p],
  }));
}

/**
 * Sends one request; a 503 with Retry-After is what a recorder is told when the server is full, so, like
 * a recorder, this waits that long and sends again. The latency runs from the first attempt.
 */
async function send(endpoint: Endpoint, agent: Agent, spec: RequestSpec, body: Buffer, check: Check): Promise<Outcome> {
  const started = performance.now();
  for (let busy = 0; ; busy++) {
    const reply = await sendOnce(endpoint, agent, spec, body);
    const retryAfter = Number(reply.headers?.['retry-after']);
    if (reply.status === 503 && retryAfter >= 0 && busy < MAX_BUSY_RETRIES) {
      await new Promise((r) => setTimeout(r, retryAfter * 1000));
      continue;
    }
    const error = reply.failure ?? check(reply.status, reply.headers as IncomingHttpHeaders, reply.body);
    const doneAt = performance.now();
    return { error, busy, latencyMs: doneAt - started, doneAt };
  }
}

interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders | null;
  readonly body: Buffer;
  /** Set when no response came (network error, timeout). */
  readonly failure: string | null;
}

function sendOnce(endpoint: Endpoint, agent: Agent, spec: RequestSpec, body: Buffer): Promise<Reply> {
  return new Promise((resolve) => {
    const fail = (failure: string) => resolve({ status: 0, headers: null, body: Buffer.alloc(0), failure });
    const req = request({ host: endpoint.host, port: endpoint.port, method: spec.method, path: spec.path, headers: spec.headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), failure: null }));
      res.on('error', (e) => fail(`response: ${e.message}`));
    });
    req.on('error', (e) => fail(`request: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no response within ${REQUEST_TIMEOUT_MS / 1000} s`)));
    req.end(body);
  });
}

function newAgent(endpoint: Endpoint, maxSockets: number): Agent {
  return new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, ca: endpoint.ca, servername: 'localhost' });
}

/** What one run measured. */
export class Tally {
  /** Acknowledgement latencies of the measured segments, ms. */
  readonly latencies: number[] = [];
  /** Measured segments never acknowledged (the drain gave up); they count as infinitely late. */
  unanswered = 0;
  /** Acknowledgements completed inside the window, and their bytes: the sustained throughput. */
  windowSegments = 0;
  windowBytes = 0;
  /** Failed requests, warm-up included: any one fails the run. */
  errors = 0;
  /**
   * Requests still out when the drain gave up, warm-up ones included: the server fell behind. They
   * fail an ExamVault run; a peer's are its figures (ingest.bench.ts).
   */
  abandoned = 0;
  /** Times a segment was refused as busy (503, Retry-After) and sent again after the wait. */
  busy = 0;
  readonly errorSamples = new Map<string, number>();

  error(message: string): void {
    this.errors++;
    this.errorSamples.set(message, (this.errorSamples.get(message) ?? 0) + 1);
  }

  /** Percentile of the latencies, unanswered segments included as +Infinity. */
  percentile(p: number): number {
    const n = this.latencies.length + this.unanswered;
    if (n === 0) return NaN;
    const sorted = Float64Array.from(this.latencies).sort();
    const rank = Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1));
    return rank < sorted.length ? (sorted[rank] as number) : Infinity;
  }
}

/** Called at the edges of the measured window, so server CPU time is read at the same instants. */
export interface WindowHooks {
  start(): void;
  end(): void;
}

export interface RunResult {
  readonly tally: Tally;
  /** Seconds between the window hooks. */
  readonly windowSeconds: number;
  /** Load generator CPU seconds inside the window (user + system, all its threads). */
  readonly clientCpuSeconds: number;
  /** Load generator event-loop delay inside the window, ms: high means the generator, not the server, lagged. */
  readonly clientLoopDelayP99Ms: number;
  readonly clientLoopDelayMaxMs: number;
  /** Paced only: how late segments were issued against their schedule, p99, ms. */
  readonly scheduleSlipP99Ms: number;
  /** Paced only: segments issued in the window and not yet acknowledged when it closed. */
  readonly backlogAtEnd: number;
}

/** How long unacknowledged segments are waited for after a paced window. */
export const DRAIN_LIMIT_MS = 30_000;

function windowClock(hooks: WindowHooks) {
  let t0 = 0;
  let cpu0 = process.cpuUsage();
  let t1 = 0;
  let cpu1 = cpu0;
  return {
    open() {
      hooks.start();
      t0 = performance.now();
      cpu0 = process.cpuUsage();
    },
    close() {
      hooks.end();
      t1 = performance.now();
      cpu1 = process.cpuUsage(cpu0);
    },
    get seconds() {
      return (t1 - t0) / 1000;
    },
    get cpuSeconds() {
      return (cpu1.user + cpu1.system) / 1e6;
    },
  };
}

/** Taker `t`'s segments of period `n`, one per recording, drawn from the pool of sealed bodies. */
function partsOf(data: Provisioned, taker: BenchTaker, t: number, n: number): Part[] {
  return taker.recordings.map((recording) => {
    const bodies = data.pool[recording.trackIndex] as readonly Buffer[];
    return { recording, index: n, body: bodies[(t + n) % bodies.length] as Buffer };
  });
}

/** Creates every recording of the given takers (POST its sealed header), before any timing. */
export async function createRecordings(endpoint: Endpoint, takers: readonly BenchTaker[], agents: readonly Agent[]): Promise<void> {
  const jobs = takers.flatMap((taker, t) => taker.recordings.map((recording) => ({ taker, recording, agent: agents[t] as Agent })));
  const created: Check = (s, _h, b) => (s === 201 ? null : `HTTP ${s} ${b.toString('utf8').slice(0, 300)}`);
  await mapLimit(jobs, 32, async ({ taker, recording, agent }) => {
    const spec = { method: 'POST', path: '/v1/recordings', headers: { authorization: `Bearer ${taker.token}`, 'content-type': 'application/octet-stream', 'content-length': recording.header.length } };
    const o = await send(endpoint, agent, spec, recording.header, created);
    if (o.error) throw new Error(`creating recording ${recording.id}: ${o.error}`);
  });
}

export interface PacedParams {
  readonly endpoint: Endpoint;
  readonly protocol: Protocol;
  /** A taker's segments due together go in one request, where the protocol has one. */
  readonly batch: boolean;
  readonly data: Provisioned;
  readonly takers: number;
  /** Keep-alive connections per taker. */
  readonly connections: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
  readonly hooks: WindowHooks;
}

export async function runPaced(p: PacedParams): Promise<RunResult> {
  const takers = p.data.takers.slice(0, p.takers);
  const agents = takers.map(() => newAgent(p.endpoint, p.connections));
  if (p.protocol.kind === 'examvault') await createRecordings(p.endpoint, takers, agents);

  const period = SEGMENT_SECONDS * 1000;
  const phases = takers.map(() => Math.random() * period);
  // Takers join over the first half of the warm-up, as they would at the start of an exam, so the
  // TLS handshakes of thousands of new connections do not all land in the same two seconds.
  const joins = takers.map(() => Math.random() * p.warmupSeconds * 500);
  const order = takers.map((_, i) => i).sort((a, b) => (phases[a] as number) - (phases[b] as number));
  const t0 = performance.now() + 200;
  const windowStart = t0 + p.warmupSeconds * 1000;
  const windowEnd = windowStart + p.seconds * 1000;
  const tally = new Tally();
  const slips: number[] = [];
  const clock = windowClock(p.hooks);
  const loop = monitorEventLoopDelay({ resolution: 10 });
  const pending = new Set<Promise<void>>();
  let measuredPending = 0;
  let backlogAtEnd = 0;
  let abandoned = false;

  const fire = (t: number, n: number, due: number) => {
    if (due < t0 + (joins[t] as number)) return; // not joined yet
    const taker = takers[t] as BenchTaker;
    const measured = due >= windowStart;
    if (measured) slips.push(performance.now() - due);
    for (const u of uploads(p.protocol, taker, partsOf(p.data, taker, t, n), p.batch)) {
      const job = send(p.endpoint, agents[t] as Agent, u.spec, u.body, u.check).then((o) => {
        if (abandoned) return;
        if (measured) measuredPending -= u.parts.length;
        tally.busy += o.busy;
        if (o.error !== null) return tally.error(o.error); // warm-up errors too fail the run
        if (measured) for (let i = 0; i < u.parts.length; i++) tally.latencies.push(o.latencyMs);
        if (o.doneAt >= windowStart && o.doneAt < windowEnd) {
          tally.windowSegments += u.parts.length;
          tally.windowBytes += u.body.length;
        }
      });
      if (measured) measuredPending += u.parts.length;
      pending.add(job);
      void job.finally(() => pending.delete(job));
    }
  };

  await new Promise<void>((resolve) => {
    let slot = 0;
    let round = 0;
    let windowOpen = false;
    const tick = () => {
      const now = performance.now();
      if (!windowOpen && now >= windowStart) {
        windowOpen = true;
        loop.enable();
        clock.open();
      }
      for (;;) {
        const t = order[slot] as number;
        const due = t0 + (phases[t] as number) + round * period;
        if (due >= windowEnd) {
          setTimeout(() => {
            clock.close();
            loop.disable();
            backlogAtEnd = measuredPending;
            resolve();
          }, Math.max(0, windowEnd - performance.now()));
          return;
        }
        if (due > now) {
          setTimeout(tick, Math.max(0, Math.min(due, windowOpen ? due : windowStart) - now));
          return;
        }
        fire(t, round, due);
        if (++slot === order.length) {
          slot = 0;
          round++;
        }
      }
    };
    setTimeout(tick, Math.max(0, t0 - performance.now()));
  });
  await drain(pending);
  // Whatever is still out is abandoned: late outcomes must not change the figures any more.
  abandoned = true;
  tally.unanswered = measuredPending;
  tally.abandoned = pending.size;
  for (const a of agents) a.destroy();
  return {
    tally,
    windowSeconds: clock.seconds,
    clientCpuSeconds: clock.cpuSeconds,
    clientLoopDelayP99Ms: loop.percentile(99) / 1e6,
    clientLoopDelayMaxMs: loop.max / 1e6,
    scheduleSlipP99Ms: percentileOf(slips, 99),
    backlogAtEnd,
  };
}

export interface MaxParams {
  readonly endpoint: Endpoint;
  readonly protocol: Protocol;
  /** A taker's segments due together go in one request, where the protocol has one. */
  readonly batch: boolean;
  readonly data: Provisioned;
  readonly concurrency: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
  readonly hooks: WindowHooks;
}

export async function runMax(p: MaxParams): Promise<RunResult> {
  const takers = p.data.takers.slice(0, p.concurrency);
  const agents = takers.map(() => newAgent(p.endpoint, 1));
  if (p.protocol.kind === 'examvault') await createRecordings(p.endpoint, takers, agents);

  const tally = new Tally();
  const clock = windowClock(p.hooks);
  const loop = monitorEventLoopDelay({ resolution: 10 });
  const t0 = performance.now();
  const windowStart = t0 + p.warmupSeconds * 1000;
  const windowEnd = windowStart + p.seconds * 1000;
  let stopped = false;
  const opener = setTimeout(() => {
    loop.enable();
    clock.open();
  }, p.warmupSeconds * 1000);
  const closer = setTimeout(() => {
    stopped = true;
    clock.close();
    loop.disable();
  }, (p.warmupSeconds + p.seconds) * 1000);

  const worker = async (t: number) => {
    const taker = takers[t] as BenchTaker;
    for (let n = 0; ; n++) {
      for (const u of uploads(p.protocol, taker, partsOf(p.data, taker, t, n), p.batch)) {
        if (stopped) return;
        const o = await send(p.endpoint, agents[t] as Agent, u.spec, u.body, u.check);
        tally.busy += o.busy;
        if (o.error !== null) tally.error(o.error);
        else if (o.doneAt >= windowStart && o.doneAt < windowEnd) {
          for (let i = 0; i < u.parts.length; i++) tally.latencies.push(o.latencyMs);
          tally.windowSegments += u.parts.length;
          tally.windowBytes += u.body.length;
        }
      }
    }
  };
  await Promise.all(takers.map((_, t) => worker(t)));
  clearTimeout(opener);
  clearTimeout(closer);
  for (const a of agents) a.destroy();
  return {
    tally,
    windowSeconds: clock.seconds,
    clientCpuSeconds: clock.cpuSeconds,
    clientLoopDelayP99Ms: loop.percentile(99) / 1e6,
    clientLoopDelayMaxMs: loop.max / 1e6,
    scheduleSlipP99Ms: NaN,
    backlogAtEnd: 0,
  };
}

async function drain(pending: Set<Promise<void>>): Promise<void> {
  const deadline = performance.now() + DRAIN_LIMIT_MS;
  while (pending.size > 0 && performance.now() < deadline) {
    await Promise.race([Promise.all([...pending]), new Promise((r) => setTimeout(r, 250))]);
  }
}

function percentileOf(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}
