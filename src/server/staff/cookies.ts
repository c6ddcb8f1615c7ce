/**
 * A minimal Cookie request header parser and Set-Cookie builder (RFC 6265 §4.2.1, §4.1.1). Only
 * cookie names this server sets are looked up, so anything malformed is skipped rather than guessed
 * at; values are taken verbatim (ours are base64url and dots, never quoted or percent-encoded).
 */

const valuePattern = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]{1,512}$/;

/** The value of the first cookie called `name` in a Cookie header, or null. */
export function readCookie(header: string | string[] | undefined, name: string): string | null {
  if (typeof header !== 'string' || header.length > 8192) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    return valuePattern.test(value) ? value : null;
  }
  return null;
}

/**
 * A `__Host-` cookie: Secure, Path=/, no Domain (so no subdomain can set or read it), HttpOnly and
 * SameSite=Strict (a page on another site can neither read it nor make the browser send it).
 */
export function hostCookie(name: string, value: string, maxAgeSeconds: number): string {
  return `${name}=${value}; Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}; Path=/; Secure; HttpOnly; SameSite=Strict`;
}

export function clearedCookie(name: string): string {
  return hostCookie(name, 'x', 0);
}
