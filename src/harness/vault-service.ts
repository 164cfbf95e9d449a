// Vaults and credentials behind the HTTP routes and for sessions/MCP: secrets are sealed with the
// secret box before they reach the store and opened per use (so rotation reaches running
// sessions); responses carry only the non-secret parts; archive purges ciphertext.
import type { Clock } from '../ports/clock.ts';
import { isoAt } from '../ports/clock.ts';
import { MasterKeyError, SecretBoxError, type SecretBox } from '../ports/secret-box.ts';
import { UniqueViolation, type CredentialRow, type Json, type Page, type PageQuery, type Store } from '../ports/store.ts';
import { conflict, invalidRequest, notFound } from '../protocol/errors.ts';
import { hasPrefix, newId } from '../protocol/ids.ts';
import type { CredentialCreateParams, CredentialUpdateParams, VaultCreateParams, VaultUpdateParams } from '../protocol/vault-schemas.ts';
import {
  MAX_ACTIVE_CREDENTIALS,
  archiveCredential,
  assertVaultLive,
  createCredential,
  createVault,
  credentialKey,
  describeKey,
  mcpToken,
  normalizeServerUrl,
  secretStrings,
  updateCredential,
  updateVault,
  type CredentialObject,
  type CredentialSecrets,
  type VaultObject,
} from '../domain/vaults.ts';
import { SecretScrubber, NO_SCRUB } from '../domain/secret-scrubber.ts';
import { PROBE_METHOD, probeMcpServer, refreshTokens, type FetchFn, type HttpCapture, type RefreshOutcome } from './vault-http.ts';

/** The slice of a logger this service uses (pino's Logger fits). Never given secret values. */
export interface VaultLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface VaultServiceDeps {
  store: Store;
  box: SecretBox;
  clock: Clock;
  logger?: VaultLogger;
  /** Outbound HTTP for validation probes and token refresh (default: global fetch). */
  fetch?: FetchFn;
}

export interface VaultServiceOptions {
  /** Timeout of each probe / token-endpoint request. Default 10 s. */
  httpTimeoutMs?: number;
  /** An `mcp_oauth` token counts as expired this long before `expires_at`. Default 30 s. */
  expirySkewMs?: number;
}

/** The `vault_credential_validation` wire object. */
export interface CredentialValidation {
  type: 'vault_credential_validation';
  credential_id: string;
  vault_id: string;
  status: 'valid' | 'invalid' | 'unknown';
  has_refresh_token: boolean;
  mcp_probe: { method: string; http_response: HttpCapture | null } | null;
  refresh: { status: 'succeeded' | 'failed' | 'connect_error' | 'no_refresh_token'; http_response: HttpCapture | null } | null;
  validated_at: string;
}

/** What `mcpCredential` hands the MCP client: the bearer token to send and whether it has expired. */
export interface McpCredential {
  vaultId: string;
  credentialId: string;
  token: string;
  expired: boolean;
}

type RefreshResult = RefreshOutcome | { status: 'no_refresh_token' } | { status: 'unavailable' };

const KEY_CHECK_CONTEXT = 'hangar:key_check';
const KEY_CHECK_PLAINTEXT = 'hangar master key check v1';
const sealContext = (credentialId: string) => `vault_credential:${credentialId}`;
const asJson = <T>(o: T) => o as unknown as Json & { id: string; created_at: string };
const asCredential = (c: CredentialObject) => c as unknown as CredentialRow['credential'];

export class VaultService {
  private readonly store: Store;
  private readonly box: SecretBox;
  private readonly clock: Clock;
  private readonly logger: VaultLogger | undefined;
  private readonly fetchFn: FetchFn;
  private readonly httpTimeoutMs: number;
  private readonly expirySkewMs: number;
  /** One refresh per credential at a time: concurrent callers share it (refresh tokens may rotate). */
  private readonly refreshing = new Map<string, Promise<RefreshResult>>();
  /** A session's `vault_ids` (fixed at creation), so scrubbing costs no session read per commit. */
  private readonly sessionVaults = new Map<string, readonly string[]>();

  constructor(deps: VaultServiceDeps, opts: VaultServiceOptions = {}) {
    this.store = deps.store;
    this.box = deps.box;
    this.clock = deps.clock;
    this.logger = deps.logger;
    this.fetchFn = deps.fetch ?? fetch;
    this.httpTimeoutMs = opts.httpTimeoutMs ?? 10_000;
    this.expirySkewMs = opts.expirySkewMs ?? 30_000;
  }

  private now(): string {
    return isoAt(this.clock.now());
  }

  // -------------------------------------------------------------------------------------------
  // Start-up

  /**
   * Checks that the configured master key opens this installation's secrets, writing the check
   * value on first start, then re-seals anything sealed under a retired key with the current one.
   * Throws `MasterKeyError` (naming key ids, never keys) when the key does not match.
   */
  async verifyMasterKey(): Promise<{ initialized: boolean; resealed: number }> {
    const repo = this.store.vaults;
    const check = await repo.keyCheck();
    let initialized = false;
    if (check !== undefined) {
      await this.openOrFail(check, KEY_CHECK_CONTEXT, 'the master key check value');
    } else {
      // Only a database written before the check existed can hold sealed data without it.
      const [any] = await repo.sealedUnderOtherKeys('', 1);
      if (any?.sealed) await this.openOrFail(any.sealed, sealContext(any.credential.id), `credential ${any.credential.id}`);
      initialized = true;
    }
    if (check === undefined || this.box.keyIdOf(check) !== this.box.currentKeyId) {
      await repo.putKeyCheck(await this.box.seal(KEY_CHECK_PLAINTEXT, KEY_CHECK_CONTEXT), this.box.currentKeyId, this.now());
    }
    const resealed = await this.resealRetired();
    if (resealed > 0) this.logger?.info({ resealed, keyId: this.box.currentKeyId }, 'vault secrets re-sealed under the current master key');
    return { initialized, resealed };
  }

  private async openOrFail(sealed: string, context: string, what: string): Promise<string> {
    try {
      const plain = await this.box.open(sealed, context);
      if (context === KEY_CHECK_CONTEXT && plain !== KEY_CHECK_PLAINTEXT) throw new SecretBoxError('integrity', 'unexpected key check value');
      return plain;
    } catch (err) {
      if (!(err instanceof SecretBoxError)) throw err;
      const sealedWith = this.box.keyIdOf(sealed) ?? 'unknown';
      throw new MasterKeyError(
        `the master key does not match this installation's data: ${what} was sealed with master key id ${sealedWith}, ` +
          `but the configured key ids are ${this.box.keyIds.join(', ')}${err.code === 'integrity' ? ' (and it failed authentication)' : ''}. ` +
          'Start Hangar with the original master key; to rotate, set HANGAR_MASTER_KEY to "<new key>,<old key>"',
        { cause: err },
      );
    }
  }

  private async resealRetired(): Promise<number> {
    let count = 0;
    for (let round = 0; round < 10_000; round++) {
      const batch = await this.store.vaults.sealedUnderOtherKeys(this.box.currentKeyId, 100);
      if (batch.length === 0) break;
      for (const row of batch) {
        const context = sealContext(row.credential.id);
        const plain = await this.openOrFail(row.sealed!, context, `credential ${row.credential.id}`);
        const sealed = await this.box.seal(plain, context);
        if (await this.store.vaults.updateCredential({ ...row, sealed, sealedKeyId: this.box.currentKeyId }, row.sealed)) count++;
      }
    }
    return count;
  }

  // -------------------------------------------------------------------------------------------
  // Vaults

  async createVault(params: VaultCreateParams, workspaceId?: string): Promise<VaultObject> {
    const vault = createVault(params, { id: newId('vlt'), now: this.now() });
    await this.store.vaults.insert(asJson(vault), workspaceId);
    return vault;
  }

  async getVault(id: string): Promise<VaultObject> {
    const found = hasPrefix(id, 'vlt') ? await this.store.vaults.get(id) : undefined;
    if (!found) throw notFound(`no vault with id ${id}`);
    return found as unknown as VaultObject;
  }

  async updateVault(id: string, params: VaultUpdateParams): Promise<VaultObject> {
    const { vault, changed } = updateVault(await this.getVault(id), params, { now: this.now() });
    if (changed) await this.store.vaults.update(asJson(vault));
    return vault;
  }

  async listVaults(q: PageQuery & { includeArchived: boolean; workspaceId?: string }): Promise<Page<VaultObject>> {
    return (await this.store.vaults.list(q)) as unknown as Page<VaultObject>;
  }

  /** Archives the vault and every active credential in it, purging their secrets. Idempotent. */
  async archiveVault(id: string): Promise<VaultObject> {
    const current = await this.getVault(id);
    if (current.archived_at) return current;
    const now = this.now();
    const vault: VaultObject = { ...current, archived_at: now, updated_at: now };
    await this.store.vaults.archiveCascade(asJson(vault), (c) => asJson(archiveCredential(c as unknown as CredentialObject, { now })));
    return vault;
  }

  async deleteVault(id: string): Promise<{ id: string; type: 'vault_deleted' }> {
    const vault = await this.getVault(id);
    if (!(await this.store.vaults.delete(vault.id))) throw notFound(`no vault with id ${id}`);
    return { id: vault.id, type: 'vault_deleted' };
  }

  // -------------------------------------------------------------------------------------------
  // Credentials

  private async loadCredential(vaultId: string, credentialId: string): Promise<CredentialRow> {
    await this.getVault(vaultId);
    const row = hasPrefix(credentialId, 'vcrd') ? await this.store.vaults.getCredential(credentialId) : undefined;
    if (!row || row.credential.vault_id !== vaultId) throw notFound(`no credential with id ${credentialId} in vault ${vaultId}`);
    return row;
  }

  private async openSecrets(row: CredentialRow): Promise<CredentialSecrets> {
    if (row.sealed === null) throw invalidRequest(`credential ${row.credential.id} is archived and holds no secrets`);
    const plain = await this.box.open(row.sealed, sealContext(row.credential.id));
    try {
      return JSON.parse(plain) as CredentialSecrets;
    } catch {
      // Never let a parser message quote the plaintext into a log line.
      throw new Error(`the sealed secrets of credential ${row.credential.id} are not valid JSON`);
    }
  }

  private async sealRow(credential: CredentialObject, secrets: CredentialSecrets): Promise<CredentialRow> {
    return {
      credential: asCredential(credential),
      key: credentialKey(credential.auth),
      sealed: await this.box.seal(JSON.stringify(secrets), sealContext(credential.id)),
      sealedKeyId: this.box.currentKeyId,
    };
  }

  async createCredential(vaultId: string, params: CredentialCreateParams): Promise<CredentialObject> {
    const vault = await this.getVault(vaultId);
    assertVaultLive(vault);
    const { credential, secrets } = createCredential(params, { id: newId('vcrd'), vaultId: vault.id, now: this.now() });
    let result: 'inserted' | 'limit';
    try {
      result = await this.store.vaults.insertCredential(await this.sealRow(credential, secrets), MAX_ACTIVE_CREDENTIALS);
    } catch (err) {
      if (err instanceof UniqueViolation) throw conflict(`vault ${vault.id} already has an active credential for ${describeKey(credential.auth)}`);
      throw err;
    }
    if (result === 'limit') {
      throw invalidRequest(`vault ${vault.id} already holds ${MAX_ACTIVE_CREDENTIALS} active credentials, the maximum; archive or delete one first`);
    }
    return credential;
  }

  async getCredential(vaultId: string, credentialId: string): Promise<CredentialObject> {
    return (await this.loadCredential(vaultId, credentialId)).credential as unknown as CredentialObject;
  }

  async updateCredential(vaultId: string, credentialId: string, params: CredentialUpdateParams): Promise<CredentialObject> {
    // Compare-and-swap on the sealed value so an update never overwrites a concurrent token refresh.
    for (let attempt = 0; ; attempt++) {
      const row = await this.loadCredential(vaultId, credentialId);
      const current = row.credential as unknown as CredentialObject;
      if (current.archived_at) throw invalidRequest(`credential ${current.id} is archived`);
      assertVaultLive(await this.getVault(vaultId));
      const secrets = await this.openSecrets(row);
      const next = updateCredential(current, secrets, params, { now: this.now() });
      if (!next.changed) return current;
      const write = next.secretsChanged
        ? await this.sealRow(next.credential, next.secrets)
        : { ...row, credential: asCredential(next.credential) };
      if (await this.store.vaults.updateCredential(write, row.sealed)) return next.credential;
      if (attempt >= 5) throw new Error(`credential ${credentialId} kept changing during the update`);
    }
  }

  async listCredentials(vaultId: string, q: PageQuery & { includeArchived: boolean }): Promise<Page<CredentialObject>> {
    await this.getVault(vaultId);
    const page = await this.store.vaults.listCredentials(vaultId, q);
    return { data: page.data.map((r) => r.credential as unknown as CredentialObject), next: page.next };
  }

  /** Archives one credential and purges its secrets. Idempotent. */
  async archiveCredential(vaultId: string, credentialId: string): Promise<CredentialObject> {
    const row = await this.loadCredential(vaultId, credentialId);
    const current = row.credential as unknown as CredentialObject;
    if (current.archived_at) return current;
    const archived = archiveCredential(current, { now: this.now() });
    await this.store.vaults.updateCredential({ ...row, credential: asCredential(archived), sealed: null, sealedKeyId: null });
    this.refreshing.delete(credentialId);
    return archived;
  }

  async deleteCredential(vaultId: string, credentialId: string): Promise<{ id: string; type: 'vault_credential_deleted' }> {
    const row = await this.loadCredential(vaultId, credentialId);
    if (!(await this.store.vaults.deleteCredential(row.credential.id))) throw notFound(`no credential with id ${credentialId} in vault ${vaultId}`);
    return { id: row.credential.id, type: 'vault_credential_deleted' };
  }

  /**
   * Live check of an MCP credential: an `initialize` probe with its token; on a 401/403 an
   * `mcp_oauth` credential with a refresh token is refreshed (new tokens stored sealed) and probed
   * again. `environment_variable` credentials cannot be probed (400).
   */
  async validateCredential(vaultId: string, credentialId: string): Promise<CredentialValidation> {
    const row = await this.loadCredential(vaultId, credentialId);
    const credential = row.credential as unknown as CredentialObject;
    if (credential.archived_at) throw invalidRequest(`credential ${credential.id} is archived`);
    const auth = credential.auth;
    if (auth.type === 'environment_variable') throw invalidRequest(`credential ${credential.id} is an environment_variable credential; only MCP credentials can be validated`);
    const secrets = await this.openSecrets(row);
    const hasRefresh = auth.type === 'mcp_oauth' && auth.refresh !== null && secrets.type === 'mcp_oauth' && !!secrets.refresh_token;
    const http = { fetch: this.fetchFn, timeoutMs: this.httpTimeoutMs, scrub: secretStrings(secrets) };
    const result = (status: CredentialValidation['status'], mcpProbe: CredentialValidation['mcp_probe'], refresh: CredentialValidation['refresh']): CredentialValidation => ({
      type: 'vault_credential_validation', credential_id: credential.id, vault_id: credential.vault_id,
      status, has_refresh_token: hasRefresh, mcp_probe: mcpProbe, refresh, validated_at: this.now(),
    });

    const first = await probeMcpServer(auth.mcp_server_url, mcpToken(secrets)!, http);
    if (first.result === 'ok') return result('valid', null, null);
    const firstProbe = { method: PROBE_METHOD, http_response: first.http };
    if (first.result === 'error') return result('unknown', firstProbe, null);
    if (auth.type !== 'mcp_oauth') return result('invalid', firstProbe, null);
    if (!hasRefresh) return result('invalid', firstProbe, { status: 'no_refresh_token', http_response: null });

    const refreshed = await this.refresh(credential.id);
    if (refreshed.status === 'failed') return result('invalid', firstProbe, { status: 'failed', http_response: refreshed.http });
    if (refreshed.status === 'connect_error') return result('invalid', firstProbe, { status: 'connect_error', http_response: null });
    if (refreshed.status !== 'succeeded') return result('invalid', firstProbe, { status: 'no_refresh_token', http_response: null });
    const okRefresh = { status: 'succeeded' as const, http_response: null };
    const second = await probeMcpServer(auth.mcp_server_url, refreshed.accessToken, { ...http, scrub: [...http.scrub, refreshed.accessToken] });
    if (second.result === 'ok') return result('valid', null, okRefresh);
    return result(second.result === 'unauthorized' ? 'invalid' : 'unknown', { method: PROBE_METHOD, http_response: second.http }, okRefresh);
  }

  // -------------------------------------------------------------------------------------------
  // For sessions and MCP

  /** For session create `vault_ids`: 404 for an unknown vault, 400 for an archived one. */
  async assertUsable(vaultIds: string[]): Promise<void> {
    for (const id of vaultIds) assertVaultLive(await this.getVault(id));
  }

  /**
   * The credential for an MCP server: exact URL match (after URL normalization) among the active
   * `static_bearer` / `mcp_oauth` credentials of `vaultIds`, the first vault in order winning.
   * Secrets are opened per call, so an updated or refreshed token is seen at once. `expired` is
   * true when an `mcp_oauth` token's `expires_at` is past (or within the expiry skew).
   */
  async mcpCredential(vaultIds: string[], mcpServerUrl: string): Promise<McpCredential | undefined> {
    const order = [...new Set(vaultIds)];
    const rows = await this.store.vaults.findActiveCredentials(order, `mcp:${normalizeServerUrl(mcpServerUrl)}`);
    const rank = (r: CredentialRow) => order.indexOf(r.credential.vault_id);
    const row = rows.filter((r) => r.sealed !== null).sort((a, b) => rank(a) - rank(b))[0];
    if (!row) return undefined;
    const credential = row.credential as unknown as CredentialObject;
    const token = mcpToken(await this.openSecrets(row));
    if (token === undefined) return undefined;
    const expiresAt = credential.auth.type === 'mcp_oauth' ? credential.auth.expires_at : null;
    const expired = expiresAt !== null && Date.parse(expiresAt) - this.expirySkewMs <= this.clock.now();
    return { vaultId: credential.vault_id, credentialId: credential.id, token, expired };
  }

  /**
   * A scrubber for everything a session's log receives: every secret of every active credential in
   * the session's vaults, read at each call (so a rotated or refreshed token is covered at once).
   */
  async sessionScrubber(sessionId: string): Promise<SecretScrubber> {
    let vaultIds = this.sessionVaults.get(sessionId);
    if (vaultIds === undefined) {
      const row = await this.store.sessions.get(sessionId);
      if (!row) return NO_SCRUB;
      vaultIds = [...((row.session.vault_ids as string[] | undefined) ?? [])];
      if (this.sessionVaults.size >= 10_000) this.sessionVaults.clear();
      this.sessionVaults.set(sessionId, vaultIds);
    }
    if (vaultIds.length === 0) return NO_SCRUB;
    const secrets: string[] = [];
    for (const vaultId of vaultIds) {
      const page = await this.store.vaults.listCredentials(vaultId, { limit: MAX_ACTIVE_CREDENTIALS + 1, order: 'asc', includeArchived: false });
      for (const row of page.data) {
        // Opened per call, never cached: plaintext stays in memory only while it is used.
        if (row.sealed !== null) secrets.push(...secretStrings(await this.openSecrets(row)));
      }
    }
    return new SecretScrubber(secrets);
  }

  /**
   * Refreshes an `mcp_oauth` credential with the refresh_token grant and stores the new tokens
   * (sealed) and `expires_at`. Undefined when no refresh is possible: not an active `mcp_oauth`
   * credential, no refresh token, or the token endpoint refused or could not be reached (logged).
   */
  async refreshMcpCredential(credentialId: string): Promise<{ token: string } | undefined> {
    const r = await this.refresh(credentialId);
    return r.status === 'succeeded' ? { token: r.accessToken } : undefined;
  }

  private refresh(credentialId: string): Promise<RefreshResult> {
    const running = this.refreshing.get(credentialId);
    if (running) return running;
    const p = this.refreshOnce(credentialId).finally(() => this.refreshing.delete(credentialId));
    this.refreshing.set(credentialId, p);
    return p;
  }

  private async refreshOnce(credentialId: string): Promise<RefreshResult> {
    const row = await this.store.vaults.getCredential(credentialId);
    if (!row || row.sealed === null || row.credential.archived_at) return { status: 'unavailable' };
    const credential = row.credential as unknown as CredentialObject;
    const auth = credential.auth;
    if (auth.type !== 'mcp_oauth') return { status: 'unavailable' };
    const secrets = await this.openSecrets(row);
    if (secrets.type !== 'mcp_oauth' || !auth.refresh || !secrets.refresh_token) return { status: 'no_refresh_token' };
    const clientAuth = auth.refresh.token_endpoint_auth.type === 'none'
      ? { type: 'none' as const }
      : { type: auth.refresh.token_endpoint_auth.type, clientSecret: secrets.client_secret ?? '' };
    const outcome = await refreshTokens(
      {
        tokenEndpoint: auth.refresh.token_endpoint, clientId: auth.refresh.client_id, refreshToken: secrets.refresh_token,
        auth: clientAuth, scope: auth.refresh.scope, resource: auth.refresh.resource,
      },
      { fetch: this.fetchFn, timeoutMs: this.httpTimeoutMs, scrub: secretStrings(secrets) },
    );
    if (outcome.status !== 'succeeded') {
      this.logger?.warn(
        { credentialId, vaultId: credential.vault_id, status: outcome.status, ...(outcome.status === 'failed' ? { httpStatus: outcome.http.status_code } : { reason: outcome.reason }) },
        'mcp_oauth token refresh failed',
      );
      return outcome;
    }
    const expiresAt = outcome.expiresInS === null ? null : isoAt(this.clock.now() + outcome.expiresInS * 1000);
    // Apply the new tokens on top of the latest stored state (an update may have landed meanwhile).
    for (let attempt = 0; attempt < 5; attempt++) {
      const latest = attempt === 0 ? row : await this.store.vaults.getCredential(credentialId);
      if (!latest || latest.sealed === null || latest.credential.archived_at) return { status: 'unavailable' };
      const cur = latest.credential as unknown as CredentialObject;
      const curSecrets = attempt === 0 ? secrets : await this.openSecrets(latest);
      if (cur.auth.type !== 'mcp_oauth' || curSecrets.type !== 'mcp_oauth') return { status: 'unavailable' };
      const nextSecrets: CredentialSecrets = {
        ...curSecrets, access_token: outcome.accessToken, refresh_token: outcome.refreshToken ?? curSecrets.refresh_token,
      };
      const next: CredentialObject = { ...cur, auth: { ...cur.auth, expires_at: expiresAt }, updated_at: this.now() };
      if (await this.store.vaults.updateCredential(await this.sealRow(next, nextSecrets), latest.sealed)) {
        this.logger?.info({ credentialId, vaultId: cur.vault_id, expiresAt }, 'mcp_oauth token refreshed');
        return outcome;
      }
    }
    throw new Error(`credential ${credentialId} kept changing while storing refreshed tokens`);
  }
}
