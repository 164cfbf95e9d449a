// Readiness: whether this process can do its job now, as named checks. Each failed check carries
// one line saying what is wrong and what to do. Served by `GET /readyz` and shown at start-up.
import { StoreUnavailableError, type Store } from '../ports/store.ts';
import type { SandboxProvider } from '../ports/sandbox.ts';

export interface CheckResult {
  ok: boolean;
  /** One line: what is wrong and how to fix it (only when `ok` is false). */
  reason?: string;
}

export type Readiness = () => Promise<Record<string, CheckResult>>;

export interface ReadinessDeps {
  store: Store;
  provider: SandboxProvider;
  /** The configured sandbox mode, reported with the check. */
  sandboxMode: string;
}

export function createReadiness(deps: ReadinessDeps): Readiness {
  return async () => ({
    store: await storeCheck(deps.store),
    sandbox: sandboxCheck(deps.provider, deps.sandboxMode),
  });
}

async function storeCheck(store: Store): Promise<CheckResult> {
  try {
    // One indexed read: it answers only if the database is open and readable.
    await store.vaults.keyCheck();
    return { ok: true };
  } catch (err) {
    if (err instanceof StoreUnavailableError) {
      return { ok: false, reason: `the database does not answer (${err.message}); requests fail with 503 until it does, and Hangar reconnects by itself` };
    }
    return { ok: false, reason: `the store does not answer (${(err as Error).message}); check the data directory's disk and permissions, then restart Hangar` };
  }
}

function sandboxCheck(provider: SandboxProvider, mode: string): CheckResult {
  const reason = provider.unavailableReason();
  return reason ? { ok: false, reason: `sandbox (${mode}) unavailable, built-in tools will fail: ${reason}` } : { ok: true };
}
