/**
 * A small browser for LTI tests: keeps cookies per origin (honouring Max-Age=0 and Secure), follows
 * redirects (302/303 become GET), and submits forms marked `data-autopost` as the emulator's inline
 * script and ExamVault's autopost.js do. It speaks HTTPS to ExamVault (trusting its local certificate)
 * and HTTP to the emulator, over loopback. `blockThirdPartyCookies` stands for a browser that drops
 * the tool's cookies inside an LMS frame (Safari, Chrome without third-party cookies).
 */
import { request as httpRequest } from 'node:http';
import { type Agent, request as httpsRequest } from 'node:https';

export interface Page {
  readonly url: string;
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
  json<T = unknown>(): T;
  meta(name: string): string | null;
  forms(): Form[];
  /** The error code of a refusal: from the JSON body, or from an HTML error page's `ev-error` meta tag. */
  errorCode(): string | null;
}

export interface Form {
  readonly action: string;
  readonly target: string | null;
  readonly autopost: boolean;
  readonly fields: Record<string, string>;
  /** Values of radio inputs, by name. */
  readonly choices: Record<string, string[]>;
}

const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

function attr(tag: string, name: string): string | null {
  const m = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  return m ? unescape(m[1] as string) : new RegExp(`\\s${name}(?=[\\s>])`).test(tag) ? '' : null;
}

export function parseForms(html: string, base: string): Form[] {
  return [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)].map((m) => {
    const tag = `<form${m[1]}>`;
    const fields: Record<string, string> = {};
    const choices: Record<string, string[]> = {};
    for (const input of (m[2] as string).matchAll(/<input\b[^>]*>/g)) {
      const name = attr(input[0], 'name');
      if (name === null) continue;
      const value = attr(input[0], 'value') ?? '';
      if (attr(input[0], 'type') === 'radio') {
        (choices[name] ??= []).push(value);
        if (attr(input[0], 'checked') !== null) fields[name] = value;
      } else fields[name] = value;
    }
    return { action: new URL(attr(tag, 'action') ?? '', base).toString(), target: attr(tag, 'target'), autopost: attr(tag, 'data-autopost') !== null, fields, choices };
  });
}

function makePage(url: string, status: number, headers: Page['headers'], body: string): Page {
  return {
    url,
    status,
    headers,
    body,
    json: <T>() => JSON.parse(body) as T,
    meta: (name) => {
      const m = new RegExp(`<meta name="${name}" content="([^"]*)">`).exec(body);
      return m ? unescape(m[1] as string) : null;
    },
    forms: () => parseForms(body, url),
    errorCode() {
      if (String(headers['content-type']).startsWith('text/html')) return this.meta('ev-error');
      try {
        return (JSON.parse(body) as { error?: { code?: string } }).error?.code ?? null;
      } catch {
        return null;
      }
    },
  };
}

export class Browser {
  /** origin → cookie name → value */
  readonly cookies = new Map<string, Map<string, string>>();
  blockThirdPartyCookies = false;
  /** Every URL requested, in order: tests check no token ever appears in one. */
  readonly visited: string[] = [];

  constructor(
    private readonly toolOrigin: string,
    private readonly agent: Agent,
  ) {}

  private jar(origin: string): Map<string, string> {
    let jar = this.cookies.get(origin);
    if (!jar) this.cookies.set(origin, (jar = new Map()));
    return jar;
  }

  private store(origin: string, setCookie: string | string[] | undefined): void {
    if (this.blockThirdPartyCookies && origin === this.toolOrigin) return;
    for (const line of [setCookie ?? []].flat()) {
      const [pair, ...attrs] = line.split(';');
      const eq = (pair as string).indexOf('=');
      const name = (pair as string).slice(0, eq).trim();
      const value = (pair as string).slice(eq + 1).trim();
      if (name.startsWith('__Host-') && !attrs.some((a) => a.trim().toLowerCase() === 'secure')) continue;
      if (attrs.some((a) => /^\s*max-age=0\s*$/i.test(a))) this.jar(origin).delete(name);
      else this.jar(origin).set(name, value);
    }
  }

  /** One request, no redirect following. */
  async fetch(method: string, url: string, body?: { form?: Record<string, string>; json?: unknown }, headers: Record<string, string> = {}): Promise<Page> {
    this.visited.push(url);
    const u = new URL(url);
    const cookies = [...this.jar(u.origin)].map(([k, v]) => `${k}=${v}`).join('; ');
    const payload = body?.form ? new URLSearchParams(body.form).toString() : body?.json !== undefined ? JSON.stringify(body.json) : undefined;
    const h: Record<string, string> = { ...headers, host: u.host };
    if (cookies) h.cookie = cookies;
    if (body?.form) h['content-type'] = 'application/x-www-form-urlencoded';
    if (body?.json !== undefined) h['content-type'] = 'application/json';
    const secure = u.protocol === 'https:';
    const options = { host: '127.0.0.1', port: u.port, method, path: `${u.pathname}${u.search}`, headers: h, ...(secure ? { agent: this.agent, servername: u.hostname } : {}) };
    return new Promise((resolve, reject) => {
      const req = (secure ? httpsRequest : httpRequest)(options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          this.store(u.origin, res.headers['set-cookie']);
          resolve(makePage(url, res.statusCode ?? 0, res.headers, Buffer.concat(chunks).toString('utf8')));
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Navigates as a browser would: follows redirects and auto-posted forms to the page that stays. */
  async navigate(method: string, url: string, form?: Record<string, string>): Promise<Page> {
    // What a browser sends when it navigates: it asks for a document.
    const accept = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };
    let page = await this.fetch(method, url, form ? { form } : undefined, method === 'POST' ? { ...accept, origin: 'null' } : accept);
    for (let hops = 0; hops < 10; hops++) {
      const location = page.headers.location;
      if (page.status >= 300 && page.status < 400 && typeof location === 'string') {
        page = await this.fetch('GET', new URL(location, page.url).toString(), undefined, accept);
        continue;
      }
      const auto = page.forms().find((f) => f.autopost);
      if (!auto) return page;
      page = await this.fetch('POST', auto.action, { form: auto.fields }, { ...accept, origin: new URL(page.url).origin });
    }
    throw new Error('too many redirects or auto-posts');
  }

  /** Submits a form of a page (a click on its button). */
  submit(form: Form, extra: Record<string, string> = {}): Promise<Page> {
    return this.navigate('POST', form.action, { ...form.fields, ...extra });
  }
}
