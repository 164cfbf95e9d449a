// The secret-box port: authenticated encryption of secret material at rest (vault credentials).
// Versioned so a KMS-backed adapter can replace the local AES-GCM one without touching callers.

/**
 * Seals and opens small secrets. A sealed string is opaque, safe to store next to the data it
 * protects, and names the key that sealed it, so several keys (current + retired) can coexist.
 */
export interface SecretBox {
  readonly specificationVersion: 'v1';
  /** Id of the key new secrets are sealed with (non-secret; safe to store and log). */
  readonly currentKeyId: string;
  /** Ids of every key this box can open with, current first. */
  readonly keyIds: readonly string[];
  /**
   * Encrypts `plaintext` with the current key. `context` is bound to the ciphertext (associated
   * data): opening with another context fails, so a sealed value cannot be moved to another row.
   */
  seal(plaintext: string, context: string): Promise<string>;
  /**
   * Decrypts a value from `seal`. Throws `SecretBoxError` (`unknown_key` when no configured key has
   * the sealed key id, `integrity` when the ciphertext, context or key does not authenticate,
   * `malformed` for anything that is not a sealed value). Never includes secret material in errors.
   */
  open(sealed: string, context: string): Promise<string>;
  /** The key id a sealed value names, or undefined when `sealed` is not a sealed value. */
  keyIdOf(sealed: string): string | undefined;
}

export type SecretBoxErrorCode = 'unknown_key' | 'integrity' | 'malformed';

/** A sealed value could not be opened. Messages name key ids, never keys or plaintext. */
export class SecretBoxError extends Error {
  readonly code: SecretBoxErrorCode;
  constructor(code: SecretBoxErrorCode, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * The configured master key is unusable: malformed, a key file with loose permissions, or not the
 * key this installation's data was sealed with. Fatal at start-up; the message says what to fix
 * and never contains key material.
 */
export class MasterKeyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
