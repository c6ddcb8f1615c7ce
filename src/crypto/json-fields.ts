/**
 * Reading untrusted JSON documents (key files, wrapped keys, grants) field by field. Every problem
 * becomes one error code chosen by the caller, with a message naming the field, never its value.
 */
import { fromBase64Url, fromUtf8 } from './bytes.js';
import { type CryptoErrorCode, ExamVaultCryptoError } from './errors.js';

export type JsonObject = Record<string, unknown>;

export class JsonFields {
  constructor(
    private readonly code: CryptoErrorCode,
    private readonly what: string,
  ) {}

  fail(why: string): ExamVaultCryptoError {
    return new ExamVaultCryptoError(this.code, `malformed ${this.what}: ${why}`);
  }

  /** `bytes` read as a UTF-8 JSON document that must be an object, named `name` in errors. */
  document(bytes: Uint8Array, name: string): JsonObject {
    let doc: unknown;
    try {
      doc = JSON.parse(fromUtf8(bytes));
    } catch {
      throw this.fail(`${name} is not JSON`);
    }
    return this.object(doc, name);
  }

  object(v: unknown, name: string): JsonObject {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw this.fail(`${name} must be an object`);
    return v as JsonObject;
  }

  string(obj: JsonObject, name: string): string {
    const v = obj[name];
    if (typeof v !== 'string') throw this.fail(`${name} must be a string`);
    return v;
  }

  /** An unpadded base64url field; with `length`, exactly that many bytes, or a [min, max] range. */
  bytes(obj: JsonObject, name: string, length?: number | readonly [number, number]): Uint8Array {
    const b = fromBase64Url(this.string(obj, name));
    if (!b) throw this.fail(`${name} must be base64url`);
    if (typeof length === 'number' && b.length !== length) throw this.fail(`${name} must be ${length} bytes`);
    if (Array.isArray(length) && (b.length < length[0] || b.length > length[1])) {
      throw this.fail(`${name} must be ${length[0]}..${length[1]} bytes`);
    }
    return b;
  }

  integer(obj: JsonObject, name: string, min: number, max: number): number {
    const v = obj[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw this.fail(`${name} must be an integer ${min}..${max}`);
    return v;
  }

  /** Requires `obj[name] === value`. */
  constant(obj: JsonObject, name: string, value: string | number): void {
    if (obj[name] !== value) throw this.fail(`${name} must be ${JSON.stringify(value)}`);
  }

  /** Refuses members other than `names`: a document is read exactly as specified or not at all. */
  onlyFields(obj: JsonObject, names: readonly string[], where: string): void {
    const extra = Object.keys(obj).find((k) => !names.includes(k));
    if (extra !== undefined) throw this.fail(`unknown member in ${where}`);
  }
}
