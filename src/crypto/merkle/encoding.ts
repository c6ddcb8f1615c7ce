/**
 * Encodings the signed-note formats use: standard base64 with padding (RFC 4648 §4, not the url
 * alphabet of the sealed format), and the ASN.1 DER form of an ECDSA signature (RFC 3279
 * Ecdsa-Sig-Value) that note signatures carry, converted to and from WebCrypto's fixed r || s.
 * Decoders accept only the canonical form, so one value has one encoding and a signature line cannot
 * be rewritten into another that still verifies.
 */

const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function toBase64(b: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < b.length; i += 0x8000) bin += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** Returns null for anything that is not canonical padded standard base64. */
export function fromBase64(s: string): Uint8Array | null {
  if (typeof s !== 'string' || !base64Pattern.test(s)) return null;
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return toBase64(out) === s ? out : null;
}

/** Scalar size of P-256: r and s are 32 bytes each in WebCrypto's signature. */
const SCALAR = 32;

function derInteger(x: Uint8Array): Uint8Array {
  let start = 0;
  while (start < x.length - 1 && x[start] === 0) start++;
  const body = x.subarray(start);
  const pad = (body[0] as number) >= 0x80 ? 1 : 0;
  const out = new Uint8Array(2 + pad + body.length);
  out[0] = 0x02;
  out[1] = pad + body.length;
  out.set(body, 2 + pad);
  return out;
}

/** WebCrypto's ECDSA P-256 signature (r || s, 64 bytes) as DER SEQUENCE { INTEGER r, INTEGER s }. */
export function signatureToDer(raw: Uint8Array): Uint8Array {
  if (raw.length !== 2 * SCALAR) throw new TypeError('a P-256 signature is 64 bytes');
  const r = derInteger(raw.subarray(0, SCALAR));
  const s = derInteger(raw.subarray(SCALAR));
  const out = new Uint8Array(2 + r.length + s.length);
  out[0] = 0x30;
  out[1] = r.length + s.length;
  out.set(r, 2);
  out.set(s, 2 + r.length);
  return out;
}

/**
 * A DER ECDSA P-256 signature as r || s, or null unless it is strict DER: short lengths, minimal
 * positive integers of at most 32 bytes, nothing after the sequence.
 */
export function signatureFromDer(der: Uint8Array): Uint8Array | null {
  if (der.length < 8 || der[0] !== 0x30 || der[1] !== der.length - 2) return null;
  const out = new Uint8Array(2 * SCALAR);
  let offset = 2;
  for (let part = 0; part < 2; part++) {
    if (der[offset] !== 0x02) return null;
    const length = der[offset + 1] as number;
    const body = der.subarray(offset + 2, offset + 2 + length);
    if (length < 1 || length > SCALAR + 1 || body.length !== length) return null;
    const first = body[0] as number;
    if (first >= 0x80) return null; // negative
    if (first === 0 && (length === 1 || (body[1] as number) < 0x80)) return null; // zero or not minimal
    const value = first === 0 ? body.subarray(1) : body;
    if (value.length > SCALAR) return null;
    out.set(value, part * SCALAR + SCALAR - value.length);
    offset += 2 + length;
  }
  return offset === der.length ? out : null;
}
