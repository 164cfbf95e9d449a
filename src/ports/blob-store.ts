// The blob port: durable bytes of uploaded and captured files, keyed by file id. Metadata lives in
// the store. Writers delete a blob they could not reference, and delete the row before the blob.
export const BLOB_STORE_PORT_VERSION = 'v1';

/** Thrown by `write` when the source yields more than `maxBytes`; nothing is left behind. */
export class BlobTooLarge extends Error {
  readonly maxBytes: number;
  constructor(maxBytes: number) {
    super(`content exceeds the ${maxBytes} byte limit`);
    this.name = new.target.name;
    this.maxBytes = maxBytes;
  }
}

export interface BlobStore {
  /**
   * Streams `source` into the blob `key`, replacing nothing: the bytes become visible under `key`
   * only once complete (write to a temporary, flush, rename), so a crash never leaves a partial
   * blob. Rejects with `BlobTooLarge` past `maxBytes`, or with the source's / signal's error; on
   * any rejection no blob and no temporary remain.
   */
  write(
    key: string,
    source: AsyncIterable<Uint8Array>,
    opts: { maxBytes: number; signal?: AbortSignal },
  ): Promise<{ sizeBytes: number; sha256: string }>;
  /** The blob's bytes, or undefined when there is no such blob. The caller must consume or abort it. */
  open(key: string): Promise<AsyncIterable<Uint8Array> | undefined>;
  /** Host path of the blob, for read-only bind mounts into sandboxes. Does not check existence. */
  pathOf(key: string): string;
  /** Removes the blob; a missing blob is not an error. */
  delete(key: string): Promise<void>;
  /** Bytes still available to new blobs on the backing storage (statfs), for free-space floors. */
  freeBytes(): Promise<number>;
}
