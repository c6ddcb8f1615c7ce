/**
 * The small HTML pages the LTI flows answer with, and their external scripts. Pages carry no inline
 * script or style: the Content-Security-Policy allows scripts from our own origin only, forms only
 * toward the origins the flow names, and framing only by the registration's platform origins (an LMS
 * shows tools in an iframe). Values reach a page only HTML-escaped, in attributes.
 */
import type { FastifyReply } from 'fastify';

export function escapeHtml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

export interface PageOptions {
  readonly title: string;
  /** name → content of meta tags the page's script (or the recorder) reads. */
  readonly meta?: Readonly<Record<string, string>>;
  readonly script?: string;
  /** Body HTML, already escaped by the caller. */
  readonly body: string;
  /** Origins forms may post to ('self' is always allowed). */
  readonly formOrigins?: readonly string[];
  /** Origins that may frame the page. */
  readonly frameOrigins: readonly string[];
}

export function pageCsp(options: Pick<PageOptions, 'formOrigins' | 'frameOrigins'>): string {
  const ancestors = options.frameOrigins.length > 0 ? options.frameOrigins.join(' ') : "'none'";
  return [
    "default-src 'none'",
    "script-src 'self'",
    "base-uri 'none'",
    `form-action 'self'${(options.formOrigins ?? []).map((o) => ` ${o}`).join('')}`,
    `frame-ancestors ${ancestors}`,
  ].join('; ');
}

export function renderPage(options: PageOptions): string {
  const meta = Object.entries(options.meta ?? {})
    .map(([name, content]) => `<meta name="${escapeHtml(name)}" content="${escapeHtml(content)}">`)
    .join('\n');
  const script = options.script ? `<script src="${escapeHtml(options.script)}" defer></script>` : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(options.title)}</title>
${meta}
${script}
</head>
<body>
<main>
<h1>${escapeHtml(options.title)}</h1>
${options.body}
</main>
</body>
</html>
`;
}

/** Sends a page with its CSP; framing is allowed to the platform origins only, so X-Frame-Options goes. */
export function sendPage(reply: FastifyReply, options: PageOptions, status = 200): FastifyReply {
  void reply.removeHeader('x-frame-options');
  return reply.code(status).header('content-security-policy', pageCsp(options)).type('text/html; charset=utf-8').send(renderPage(options));
}

/** A form that posts hidden fields; `autopost` marks it for autopost.js (a button is there for browsers without script). */
export function hiddenForm(action: string, fields: Readonly<Record<string, string>>, button: string, options: { autopost?: boolean; target?: string } = {}): string {
  const inputs = Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('');
  const attrs = `${options.autopost ? ' data-autopost' : ''}${options.target ? ` target="${escapeHtml(options.target)}"` : ''}`;
  return `<form method="post" action="${escapeHtml(action)}"${attrs}>${inputs}<button type="submit">${escapeHtml(button)}</button></form>`;
}

/** The scripts, served from /v1/lti/scripts/<name>. Plain ES2017, no module, no dependency. */
export const scripts: Readonly<Record<string, string>> = {
  /** Submits every form marked data-autopost (deep-linking response, LtiStartAssessment). */
  'autopost.js': `'use strict';
document.querySelectorAll('form[data-autopost]').forEach(function (form) { form.submit(); });
`,
  /**
   * Login with platform storage (LTI Client Side postMessages, lti.put_data): stores the state's
   * binding in the platform's storage frame, then goes on to the platform's authorization endpoint.
   * Without an answer in 2 s it goes on anyway: the cookie may be enough.
   */
  'login.js': `'use strict';
(function () {
  function meta(name) { var m = document.querySelector('meta[name="' + name + '"]'); return m ? m.getAttribute('content') : null; }
  var next = meta('ev-lti-next'), target = meta('ev-lti-storage-target'), origin = meta('ev-lti-storage-origin');
  var key = meta('ev-lti-storage-key'), value = meta('ev-lti-storage-value');
  var done = false;
  function go() { if (!done) { done = true; window.location.assign(next); } }
  var frame = null;
  try { frame = target === '_parent' ? window.parent : window.parent.frames[target]; } catch (e) { frame = null; }
  if (!frame || frame === window) { go(); return; }
  var id = 'ev-' + Math.random().toString(36).slice(2);
  window.addEventListener('message', function (event) {
    var d = event.data;
    if (event.origin === origin && d && d.subject === 'lti.put_data.response' && d.message_id === id) go();
  });
  setTimeout(go, 2000);
  frame.postMessage({ subject: 'lti.put_data', message_id: id, key: key, value: value }, origin);
})();
`,
  /**
   * A learner's launch page leads into the recorder (docs/WEB.md "Starting from a sign-in"): the
   * one-time hand-off code goes to this tab's sessionStorage, where the recorder (same origin) reads
   * it once, never into a URL. The key is src/web/recorder/handoff.ts' HANDOFF_KEY. Only when the
   * launch is the top-level page: the recorder refuses to be framed (frame-ancestors 'none'), and a
   * frame's storage is partitioned under the LMS's site. Framed, the page's button posts the code
   * into a new window (POST /v1/lti/recorder), whose answer runs this script again, top-level.
   */
  'recorder.js': `'use strict';
(function () {
  if (window.top !== window) return;
  var m = document.querySelector('meta[name="ev-handoff"]');
  var code = m ? m.getAttribute('content') : null;
  if (!code) return;
  try { sessionStorage.setItem('examvault.recorder.handoff', JSON.stringify({ handoff: code })); } catch (e) { return; }
  window.location.replace('/app/recorder/');
})();
`,
  /**
   * Launch without the state cookie: fetches the binding back from platform storage (lti.get_data)
   * and posts it with the state to /v1/lti/launch/confirm.
   */
  'launch.js': `'use strict';
(function () {
  function meta(name) { var m = document.querySelector('meta[name="' + name + '"]'); return m ? m.getAttribute('content') : null; }
  var target = meta('ev-lti-storage-target'), origin = meta('ev-lti-storage-origin'), key = meta('ev-lti-storage-key');
  var form = document.querySelector('form[data-ev-confirm]');
  var frame = null;
  try { frame = target === '_parent' ? window.parent : window.parent.frames[target]; } catch (e) { frame = null; }
  if (!frame || !form) return;
  var id = 'ev-' + Math.random().toString(36).slice(2);
  window.addEventListener('message', function (event) {
    var d = event.data;
    if (event.origin !== origin || !d || d.subject !== 'lti.get_data.response' || d.message_id !== id || typeof d.value !== 'string') return;
    form.querySelector('input[name="binding"]').value = d.value;
    form.submit();
  });
  frame.postMessage({ subject: 'lti.get_data', message_id: id, key: key }, origin);
})();
`,
};
