/**
 * Calls to the ExamVault API from the browser apps: same origin only, JSON or bytes, errors with the
 * stable code the server sent (docs/errors.md). A request that never got an answer (offline, server
 * down) is an UnreachableError, which callers retry; an answer is never retried blindly.
 */

export class ApiCallError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
    this.name = 'ApiCallError';
  }
}

export class UnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnreachableError';
  }
}

export interface CallOptions {
  readonly method?: string;
  readonly token?: string;
  readonly json?: unknown;
  readonly bytes?: Uint8Array;
  /** Extra request headers, such as the staff session's CSRF token (staff-session.ts). */
  readonly headers?: Readonly<Record<string, string>>;
}

export async function call(path: string, options: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: BodyInit | undefined;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.bytes) {
    headers['content-type'] = 'application/octet-stream';
    body = options.bytes as Uint8Array<ArrayBuffer>;
  }
  let response: Response;
  try {
    response = await fetch(path, { method: options.method ?? 'GET', headers, body, cache: 'no-store', credentials: 'same-origin' });
  } catch (e) {
    throw new UnreachableError(e instanceof Error ? e.message : 'the server could not be reached');
  }
  // A proxy or a restarting server answers 502-504 without our error format: the same as unreachable.
  if (response.status >= 502 && response.status <= 504) throw new UnreachableError(`the server answered ${response.status}`);
  if (!response.ok) {
    let code = 'EV_ERR_API_INTERNAL';
    let message = `the server answered ${response.status}`;
    try {
      const parsed = (await response.json()) as { error?: { code?: unknown; message?: unknown } };
      if (typeof parsed.error?.code === 'string') code = parsed.error.code;
      if (typeof parsed.error?.message === 'string') message = parsed.error.message;
    } catch {
      // not our error format; keep the status
    }
    throw new ApiCallError(response.status, code, message);
  }
  return response;
}

export async function callJson<T>(path: string, options: CallOptions = {}): Promise<T> {
  return (await (await call(path, options)).json()) as T;
}
