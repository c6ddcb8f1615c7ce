/**
 * A browser stand-in for the part of `node:test` that the crypto suite uses, so the very same test
 * files run in Chromium (test/browser/bundle.ts aliases `node:test` to this module).
 *
 * Supported: `describe`/`suite`, `it`/`test` (with `.skip`, `.todo`, `.only`), nested describes,
 * the `(name?, options?, fn?)` signatures, options `skip`, `todo`, `timeout` (per test; `only` and
 * `concurrency` are accepted and ignored: everything runs in order, one at a time), async and
 * callback (`(t, done)`) test functions, hooks `before`/`after`/`beforeEach`/`afterEach`, and on the
 * test context `name`, `signal`, `skip()`, `todo()`, `diagnostic()`, `after()` and `test()`
 * (a subtest, run inline; its failure fails the parent test, as in Node).
 *
 * Node runs each test file in its own process; here all files share one page, so every file gets its
 * own root suite (`__setFile`, called by the bundle before each file is evaluated): a top-level hook
 * only applies to the tests of its own file.
 *
 * Registration happens while the modules load; `run()` then executes everything in order and returns
 * exactly one `kind: 'test'` result per registered test (skipped ones included), plus `kind: 'suite'`,
 * `'hook'` or `'error'` entries for failures that belong to no single test (a describe body that
 * threw, a failing `after` hook, an uncaught error or unhandled rejection).
 *
 * Limitation: a describe body must register its tests synchronously. As in Node it is called at once
 * and may be async (the run waits for it), but a test or suite registered after its first `await`
 * cannot be attributed to it here (the browser has no AsyncLocalStorage). Such a registration (one
 * that arrives after the bundle finished loading, see `__loaded`) still runs and is counted, and an
 * `error` entry says it was misplaced, so the difference from Node is reported, never silent.
 * Known small difference: Node 20 skips afterEach hooks after a runtime `t.skip()`; here they run.
 */

export interface TestOptions {
  skip?: boolean | string;
  todo?: boolean | string;
  only?: boolean;
  timeout?: number;
  concurrency?: number | boolean;
}

export interface BrowserTestResult {
  kind: 'test' | 'suite' | 'hook' | 'error';
  /** The test file (relative to the repository) the test was registered by. */
  file: string;
  /** Full path: enclosing describe names and the test name, joined by ' > '. */
  name: string;
  ok: boolean;
  /** Present (possibly empty: the reason) when the test was skipped. */
  skip?: string;
  /** Present (possibly empty: the reason) when the test is a todo: its failure does not count. */
  todo?: string;
  error?: string;
  diagnostics?: string[];
  ms: number;
}

export interface RunOptions {
  /** Per-test timeout in ms for tests that set none (Node's default is no timeout). */
  timeout?: number;
}

type Done = (err?: unknown) => void;
type TestFn = (t: TestContext, done: Done) => unknown;
type HookFn = (t: HookContext, done: Done) => unknown;
type SuiteFn = (s: SuiteContext) => unknown;
type Args = readonly unknown[];

interface Hooks {
  before: HookFn[];
  after: HookFn[];
  beforeEach: HookFn[];
  afterEach: HookFn[];
}

interface Suite {
  kind: 'suite';
  name: string;
  parent: Suite | null;
  file: string;
  options: TestOptions;
  children: (Suite | Test)[];
  hooks: Hooks;
  bodyError?: unknown;
  building?: Promise<void>;
}

interface Test {
  kind: 'test';
  name: string;
  parent: Suite;
  file: string;
  options: TestOptions;
  fn: TestFn | undefined;
}

export interface SuiteContext {
  readonly name: string;
  readonly signal: AbortSignal;
}

export interface HookContext {
  readonly name: string;
  readonly signal: AbortSignal;
}

const SEP = ' > ';

function newSuite(name: string, parent: Suite | null, file: string, options: TestOptions): Suite {
  return { kind: 'suite', name, parent, file, options, children: [], hooks: { before: [], after: [], beforeEach: [], afterEach: [] } };
}

const root = newSuite('', null, '', {});
let fileSuite = newSuite('', root, '', {});
root.children.push(fileSuite);
let current: Suite = fileSuite;
const registrations = new Map<string, number>();
let state: 'loading' | 'running' | 'done' = 'loading';
let loaded = false;
const misplaced: BrowserTestResult[] = [];

/** Called by the bundle before each test file is evaluated: later registrations belong to `file`. */
export function __setFile(file: string): void {
  fileSuite = newSuite('', root, file, {});
  root.children.push(fileSuite);
  current = fileSuite;
}

/** Called by the bundle once every test file is evaluated: later registrations are async ones. */
export function __loaded(): void {
  loaded = true;
}

/** How many tests (it/test calls, skipped ones included) each file registered so far. */
export function registered(): Record<string, number> {
  return Object.fromEntries(registrations);
}

function parse<F>(args: Args): { name: string; options: TestOptions; fn: F | undefined } {
  let name: string | undefined;
  let options: TestOptions = {};
  let fn: F | undefined;
  for (const a of args) {
    if (typeof a === 'string') name = a;
    else if (typeof a === 'function') fn = a as F;
    else if (a !== null && typeof a === 'object') options = a as TestOptions;
  }
  const fnName = (fn as { name?: string } | undefined)?.name;
  return { name: name ?? (fnName || '<anonymous>'), options, fn };
}

function reason(v: boolean | string | undefined): string | undefined {
  if (typeof v === 'string') return v;
  return v ? '' : undefined;
}

function pathOf(node: Suite | Test): string {
  const parts: string[] = [];
  for (let n: Suite | Test | null = node; n; n = n.parent) if (n.name) parts.unshift(n.name);
  return parts.join(SEP);
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';
}

function loading(what: string, name?: string): void {
  const call = `${what}(${name === undefined ? '' : JSON.stringify(name)})`;
  if (state !== 'loading') {
    throw new Error(`node-test-shim: ${what}() called after the run started; register tests at load time (use t.test() for subtests)`);
  }
  if (loaded) {
    misplaced.push({
      kind: 'error', file: current.file, name: call, ok: false, ms: 0,
      error: `node-test-shim: ${call} was registered after loading finished, most likely after an ` +
        `await in an async describe body; the browser cannot tell which suite it belongs to: register tests synchronously`,
    });
  }
}

function registerTest(args: Args, extra: TestOptions): Promise<void> {
  const { name, options, fn } = parse<TestFn>(args);
  loading('it', name);
  current.children.push({ kind: 'test', name, parent: current, file: current.file, options: { ...options, ...extra }, fn });
  registrations.set(current.file, (registrations.get(current.file) ?? 0) + 1);
  return Promise.resolve();
}

function registerSuite(args: Args, extra: TestOptions): Promise<void> {
  const { name, options, fn } = parse<SuiteFn>(args);
  loading('describe', name);
  const suite = newSuite(name, current, current.file, { ...options, ...extra });
  current.children.push(suite);
  const previous = current;
  current = suite;
  try {
    const r = fn?.({ name, signal: new AbortController().signal });
    if (isThenable(r)) {
      suite.building = Promise.resolve(r).then(undefined, (e: unknown) => {
        suite.bodyError = e;
      });
    }
  } catch (e) {
    suite.bodyError = e;
  } finally {
    current = previous;
  }
  return Promise.resolve();
}

function hook(kind: keyof Hooks): (fn: HookFn, options?: TestOptions) => void {
  return (fn) => {
    loading(kind);
    current.hooks[kind].push(fn);
  };
}

interface TestFunction {
  (...args: Args): Promise<void>;
  skip: (...args: Args) => Promise<void>;
  todo: (...args: Args) => Promise<void>;
  only: (...args: Args) => Promise<void>;
}

function withModifiers(register: (args: Args, extra: TestOptions) => Promise<void>): TestFunction {
  const f = ((...args: Args) => register(args, {})) as TestFunction;
  f.skip = (...args: Args) => register(args, { skip: true });
  f.todo = (...args: Args) => register(args, { todo: true });
  f.only = (...args: Args) => register(args, {});
  return f;
}

export const test = withModifiers(registerTest);
export const it = test;
export const describe = withModifiers(registerSuite);
export const suite = describe;
export const before = hook('before');
export const after = hook('after');
export const beforeEach = hook('beforeEach');
export const afterEach = hook('afterEach');
export default test;

// ---------------------------------------------------------------------------------------------
// Running

function describeError(e: unknown): string {
  if (e instanceof Error) {
    // The stack repeats the message (AssertionError's as "AssertionError [ERR_ASSERTION]: ..."): keep
    // the first line's own text and only the frames of the stack.
    const stack = e.stack ?? '';
    const end = e.message ? stack.indexOf(e.message) : -1;
    const rest = end >= 0 ? stack.slice(end + e.message.length) : stack;
    const frames = rest.split('\n').filter((line) => /^\s+at /.test(line)).slice(0, 10);
    let text = [`${e.name}: ${e.message}`, ...frames].join('\n');
    if (e.cause !== undefined) text += `\n[cause] ${describeError(e.cause)}`;
    return text;
  }
  return `thrown non-Error: ${String(e)}`;
}

function withTimeout(p: Promise<unknown>, ms: number | undefined, what: string): Promise<unknown> {
  if (ms === undefined || !Number.isFinite(ms)) return p;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Calls a test or hook function: promise-returning, or callback-style when it declares `done`. */
function invoke<C>(fn: (c: C, done: Done) => unknown, ctx: C): Promise<unknown> {
  if (fn.length >= 2) {
    return new Promise((resolve, reject) => {
      try {
        fn(ctx, (err?: unknown) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(undefined)));
      } catch (e) {
        reject(e);
      }
    });
  }
  try {
    return Promise.resolve(fn(ctx, () => undefined));
  } catch (e) {
    return Promise.reject(e);
  }
}

export class TestContext {
  readonly signal: AbortSignal;
  skipReason: string | undefined;
  todoReason: string | undefined;
  readonly diagnostics: string[] = [];
  readonly afterFns: HookFn[] = [];
  readonly subtestFailures: string[] = [];
  private readonly controller = new AbortController();

  constructor(
    readonly name: string,
    readonly fullName: string,
    private readonly timeout: number | undefined,
    private readonly suite: Suite,
  ) {
    this.signal = this.controller.signal;
  }

  skip(message?: string): void {
    this.skipReason = message ?? '';
  }

  todo(message?: string): void {
    this.todoReason = message ?? '';
  }

  diagnostic(message: string): void {
    this.diagnostics.push(message);
  }

  after(fn: HookFn): void {
    this.afterFns.push(fn);
  }

  runOnly(_shouldRunOnlyTests: boolean): void {}

  /**
   * A subtest, run to completion before returning (with the suite's beforeEach/afterEach hooks, as
   * Node does); like Node, it never rejects: its failure fails the parent.
   */
  async test(...args: Args): Promise<void> {
    const { name, options, fn } = parse<TestFn>(args);
    if (reason(options.skip) !== undefined || !fn) return;
    const fullName = `${this.fullName}${SEP}${name}`;
    const sub = new TestContext(name, fullName, options.timeout ?? this.timeout, this.suite);
    const error = await runWithEachHooks(this.suite, sub, fn);
    if (error !== undefined && reason(options.todo) === undefined && sub.todoReason === undefined) {
      this.subtestFailures.push(`subtest ${JSON.stringify(name)} failed: ${describeError(error)}`);
    }
  }

  /** Runs `fn` with its own `t.after` callbacks; resolves to the error, if any. */
  async execute(fn: TestFn): Promise<unknown> {
    let error: unknown;
    try {
      await withTimeout(invoke(fn, this), this.timeout, `test ${JSON.stringify(this.fullName)}`);
    } catch (e) {
      error = e;
    }
    for (const f of this.afterFns) {
      try {
        await invoke(f, this);
      } catch (e) {
        error ??= e;
      }
    }
    if (error === undefined && this.subtestFailures.length > 0) {
      error = new Error(`${this.subtestFailures.length} subtest(s) failed\n${this.subtestFailures.join('\n')}`);
    }
    this.controller.abort();
    return error;
  }
}

interface Runner {
  results: BrowserTestResult[];
  defaultTimeout: number | undefined;
  running: string | undefined;
}

function inherited(suite: Suite, key: 'skip' | 'todo'): string | undefined {
  for (let s: Suite | null = suite; s; s = s.parent) {
    const r = reason(s.options[key]);
    if (r !== undefined) return r;
  }
  return undefined;
}

function tests(node: Suite | Test): Test[] {
  return node.kind === 'test' ? [node] : node.children.flatMap(tests);
}

function chain(suite: Suite, kind: 'beforeEach' | 'afterEach'): HookFn[] {
  const suites: Suite[] = [];
  for (let s: Suite | null = suite; s; s = s.parent) suites.unshift(s);
  const fns = suites.flatMap((s) => s.hooks[kind]);
  // Outer beforeEach hooks run first; inner afterEach hooks run first.
  return kind === 'afterEach' ? fns.reverse() : fns;
}

function failAll(r: Runner, suite: Suite, message: string): void {
  for (const t of tests(suite)) {
    r.results.push({ kind: 'test', file: t.file, name: pathOf(t), ok: false, error: message, ms: 0 });
  }
}

async function runHooks(fns: HookFn[], ctx: HookContext): Promise<unknown> {
  for (const fn of fns) {
    try {
      await invoke(fn, ctx);
    } catch (e) {
      return e;
    }
  }
  return undefined;
}

/** beforeEach hooks (outermost first), the test, afterEach hooks (innermost first); resolves to the error. */
async function runWithEachHooks(suite: Suite, ctx: TestContext, fn: TestFn): Promise<unknown> {
  // Like Node, the each-hooks get the test's context.
  const beforeError = await runHooks(chain(suite, 'beforeEach'), ctx);
  let error = beforeError === undefined ? await ctx.execute(fn) : new Error(`beforeEach hook failed: ${describeError(beforeError)}`);
  const afterError = await runHooks(chain(suite, 'afterEach'), ctx);
  if (afterError !== undefined) error ??= new Error(`afterEach hook failed: ${describeError(afterError)}`);
  return error;
}

async function runTest(r: Runner, t: Test): Promise<void> {
  const name = pathOf(t);
  const skip = reason(t.options.skip) ?? inherited(t.parent, 'skip');
  if (skip !== undefined || !t.fn) {
    r.results.push({ kind: 'test', file: t.file, name, ok: true, ...(skip !== undefined ? { skip } : {}), ms: 0 });
    return;
  }
  const ctx = new TestContext(t.name, name, t.options.timeout ?? r.defaultTimeout, t.parent);
  const start = performance.now();
  r.running = name;
  const error = await runWithEachHooks(t.parent, ctx, t.fn);
  r.running = undefined;
  const ms = performance.now() - start;
  const todo = reason(t.options.todo) ?? ctx.todoReason ?? inherited(t.parent, 'todo');
  const result: BrowserTestResult = { kind: 'test', file: t.file, name, ok: error === undefined, ms };
  if (error !== undefined) result.error = describeError(error);
  if (ctx.skipReason !== undefined) result.skip = ctx.skipReason;
  if (todo !== undefined) result.todo = todo;
  if (ctx.diagnostics.length > 0) result.diagnostics = ctx.diagnostics;
  r.results.push(result);
}

async function runSuite(r: Runner, s: Suite): Promise<void> {
  const name = pathOf(s) || s.file;
  if (s.bodyError !== undefined) {
    const message = `describe body failed: ${describeError(s.bodyError)}`;
    r.results.push({ kind: 'suite', file: s.file, name, ok: false, error: message, ms: 0 });
    failAll(r, s, message);
    return;
  }
  const skipped = inherited(s, 'skip') !== undefined;
  const runs = !skipped && tests(s).length > 0;
  if (runs) {
    const error = await runHooks(s.hooks.before, { name, signal: new AbortController().signal });
    if (error !== undefined) {
      const message = `before hook failed: ${describeError(error)}`;
      r.results.push({ kind: 'hook', file: s.file, name: `${name} (before)`, ok: false, error: message, ms: 0 });
      failAll(r, s, message);
      return;
    }
  }
  for (const child of s.children) {
    if (child.kind === 'test') await runTest(r, child);
    else await runSuite(r, child);
  }
  if (runs) {
    const error = await runHooks(s.hooks.after, { name, signal: new AbortController().signal });
    if (error !== undefined) {
      r.results.push({ kind: 'hook', file: s.file, name: `${name} (after)`, ok: false, error: `after hook failed: ${describeError(error)}`, ms: 0 });
    }
  }
}

async function waitForDescribes(s: Suite): Promise<void> {
  if (s.building) await s.building;
  for (const c of s.children) if (c.kind === 'suite') await waitForDescribes(c);
}

/** Runs every registered test, in registration order, one at a time. Call once. */
export async function run(options: RunOptions = {}): Promise<BrowserTestResult[]> {
  await waitForDescribes(root);
  if (state !== 'loading') throw new Error('node-test-shim: run() called twice');
  state = 'running';
  const r: Runner = { results: [...misplaced], defaultTimeout: options.timeout, running: undefined };
  const uncaught = (what: string, e: unknown): void => {
    r.results.push({
      kind: 'error', file: '', ok: false, ms: 0,
      name: `${what}${r.running ? ` (reported while running ${JSON.stringify(r.running)})` : ''}`,
      error: describeError(e),
    });
  };
  const onError = (ev: ErrorEvent): void => {
    ev.preventDefault();
    uncaught('uncaught exception', ev.error ?? ev.message);
  };
  const onRejection = (ev: PromiseRejectionEvent): void => {
    ev.preventDefault();
    uncaught('unhandled rejection', ev.reason);
  };
  addEventListener('error', onError);
  addEventListener('unhandledrejection', onRejection);
  try {
    for (const s of root.children) if (s.kind === 'suite') await runSuite(r, s);
    // Let rejections left behind by the last tests surface before reporting: Chromium dispatches
    // unhandledrejection from a task of its own, which a setTimeout(0) can overtake.
    await new Promise((resolve) => setTimeout(resolve, 100));
  } finally {
    removeEventListener('error', onError);
    removeEventListener('unhandledrejection', onRejection);
    state = 'done';
  }
  return r.results;
}
