// Telemetry destinations as a use case (issue 11): create, read, update (compare-and-swap), list,
// delete and test destinations, their workspace lists, and the routing table the tracer reads —
// which enabled destinations cover a workspace, with their headers opened from the secret box.
// Header values are sealed (bound to the destination id) and never leave this class except toward
// the exporter. The table is rebuilt after every change here and every few seconds (other nodes).
import { ApiError, conflict, invalidRequest, notFound } from '../protocol/errors.ts';
import { newId } from '../protocol/ids.ts';
import { isoAt, type Clock } from '../ports/clock.ts';
import type { SecretBox } from '../ports/secret-box.ts';
import type { Page, PageQuery, Store, TelemetryDestinationRow } from '../ports/store.ts';
import type { SpanDestination, SpanRoutes } from '../ports/tracer.ts';
import type { DestinationCreateParams, DestinationUpdateParams } from '../protocol/telemetry-schemas.ts';
import {
  covers, destinationWorkspaces, newDestination, presentDestination, tracesUrl, updateDestination,
  type DestinationObject, type DestinationWorkspaceObject,
} from '../domain/telemetry-destinations.ts';
import { sessionWorkspaceId } from '../domain/spend.ts';

const sealContext = (id: string) => `telemetry_destination:${id}`;
/** One test export per destination per this long (the hosted API's pace). */
const TEST_INTERVAL_MS = 10_000;
const SESSION_CACHE = 10_000;

export interface TelemetryDestinationDeps {
  store: Store;
  box: SecretBox;
  clock: Clock;
  /** Whether content may be exported at all (HANGAR_OTEL_CAPTURE_CONTENT): `content_mode: content` needs it. */
  captureContent: boolean;
  /** Makes sure spans are recorded and routed (loads the tracer when no destination existed at start). */
  ensureTracing?: () => Promise<void>;
  /** Sends one `anthropic.test` span to a destination; resolves to an error message or undefined on a 2xx. */
  sendTest?: (destination: SpanDestination) => Promise<string | undefined>;
}

type Health = DestinationObject['delivery_health'];

export class TelemetryDestinationService implements SpanRoutes {
  private readonly deps: TelemetryDestinationDeps;
  private table: Array<{ destination: DestinationObject; route: SpanDestination }> = [];
  private readonly sessions = new Map<string, string>();
  private readonly health = new Map<string, Health>();
  private readonly lastTest = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(deps: TelemetryDestinationDeps) {
    this.deps = deps;
  }

  private now(): string {
    return isoAt(this.deps.clock.now());
  }

  // ---- routing (SpanRoutes) --------------------------------------------------------------------

  async workspaceOf(sessionId: string): Promise<string | undefined> {
    let ws = this.sessions.get(sessionId);
    if (ws === undefined) {
      const row = await this.deps.store.sessions.get(sessionId);
      if (!row) return undefined;
      ws = sessionWorkspaceId(row.session);
      if (this.sessions.size >= SESSION_CACHE) this.sessions.delete(this.sessions.keys().next().value!);
      this.sessions.set(sessionId, ws);
    }
    return ws;
  }

  destinationsFor(workspaceId: string): SpanDestination[] {
    return this.table.filter((t) => covers(t.destination, workspaceId)).map((t) => t.route);
  }

  delivered(destinationId: string, error: string | undefined): void {
    const h = { ...(this.health.get(destinationId) ?? { last_error: null, last_error_at: null, last_success_at: null }) };
    if (error) {
      h.last_error = error.slice(0, 500);
      h.last_error_at = this.now();
    } else {
      h.last_success_at = this.now();
    }
    this.health.set(destinationId, h);
  }

  /** Rebuilds the routing table from the store (headers opened here, once per change). */
  async refresh(): Promise<void> {
    const rows = await this.deps.store.telemetryDestinations.all();
    const table = [];
    for (const row of rows) {
      const destination = row.destination as unknown as DestinationObject;
      let headers: Record<string, string>;
      try {
        headers = await this.headersOf(row);
      } catch (err) {
        // Headers this server cannot open are never sent without them: the destination is skipped.
        this.delivered(destination.id, `its headers cannot be opened with the configured master key (${(err as Error).name}); set them again`);
        continue;
      }
      table.push({
        destination,
        route: {
          id: destination.id, url: tracesUrl(destination), headers, contentMode: destination.traces.content_mode,
          maxContentBytes: destination.traces.max_content_bytes, revision: `${row.revision}`,
        },
      });
    }
    this.table = table;
  }

  /** Loads the routing table and keeps it current (changes made on other nodes show within `intervalMs`). */
  async start(intervalMs: number): Promise<void> {
    await this.resealRetired();
    await this.refresh();
    this.timer ??= setInterval(() => void this.refresh().catch(() => undefined), intervalMs);
    this.timer.unref();
  }

  /** Headers sealed under a retired master key (HANGAR_MASTER_KEY=new,old) are re-sealed under the current one. */
  async resealRetired(): Promise<number> {
    let resealed = 0;
    for (const row of await this.deps.store.telemetryDestinations.all()) {
      if (!row.sealed || row.sealedKeyId === this.deps.box.currentKeyId) continue;
      const headers = await this.headersOf(row).catch(() => undefined);
      if (!headers) continue; // unopenable: refresh() reports it
      const sealed = await this.sealHeaders(row.destination.id, headers);
      if (await this.deps.store.telemetryDestinations.update({ ...row, ...sealed })) resealed++;
    }
    return resealed;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Whether any destination is registered (the tracer is loaded at start when one is). */
  get any(): boolean {
    return this.table.length > 0;
  }

  // ---- the API ---------------------------------------------------------------------------------

  private async headersOf(row: TelemetryDestinationRow): Promise<Record<string, string>> {
    if (!row.sealed) return {};
    return JSON.parse(await this.deps.box.open(row.sealed, sealContext(row.destination.id))) as Record<string, string>;
  }

  private async sealHeaders(id: string, headers: Record<string, string>): Promise<{ sealed: string | null; sealedKeyId: string | null }> {
    if (!Object.keys(headers).length) return { sealed: null, sealedKeyId: null };
    return { sealed: await this.deps.box.seal(JSON.stringify(headers), sealContext(id)), sealedKeyId: this.deps.box.currentKeyId };
  }

  private present(d: DestinationObject) {
    const wire = presentDestination(d);
    const live = this.health.get(d.id);
    return live ? { ...wire, delivery_health: live } : wire;
  }

  private assertContentAllowed(d: DestinationObject): void {
    if (d.traces.content_mode === 'content' && !this.deps.captureContent) {
      throw invalidRequest('traces.content_mode: "content" needs content capture on the server (HANGAR_OTEL_CAPTURE_CONTENT=true); it is off, so only metadata can be exported');
    }
  }

  private async load(id: string): Promise<TelemetryDestinationRow> {
    const row = await this.deps.store.telemetryDestinations.get(id);
    if (!row) throw notFound(`no telemetry destination with id ${id}`);
    return row;
  }

  async create(p: DestinationCreateParams) {
    const d = newDestination(p, { id: newId('tdst'), now: this.now() });
    this.assertContentAllowed(d);
    const sealed = await this.sealHeaders(d.id, p.headers ?? {});
    await this.deps.store.telemetryDestinations.insert({ destination: d as never, ...sealed, revision: 1 });
    await this.deps.ensureTracing?.();
    await this.refresh();
    return this.present(d);
  }

  async get(id: string) {
    return this.present((await this.load(id)).destination as unknown as DestinationObject);
  }

  async update(id: string, p: DestinationUpdateParams) {
    const row = await this.load(id);
    const current = row.destination as unknown as DestinationObject;
    const { destination, headers } = updateDestination(current, await this.headersOf(row), p, this.now());
    this.assertContentAllowed(destination);
    const sealed = headers === undefined ? { sealed: row.sealed, sealedKeyId: row.sealedKeyId } : await this.sealHeaders(id, headers);
    if (!(await this.deps.store.telemetryDestinations.update({ destination: destination as never, ...sealed, revision: row.revision }))) {
      throw conflict(`telemetry destination ${id} was changed by another request meanwhile; read it again and retry`);
    }
    await this.refresh();
    return this.present(destination);
  }

  async list(q: PageQuery & { workspaceIds?: string[] }): Promise<Page<ReturnType<TelemetryDestinationService['present']>>> {
    if (q.workspaceIds?.length) {
      // Destinations covering any of these workspaces: one page (installations hold a handful).
      const all = await this.deps.store.telemetryDestinations.all();
      const data = all.map((r) => r.destination as unknown as DestinationObject)
        .filter((d) => q.workspaceIds!.some((ws) => d.workspaces.type === 'all' || (d.workspaces.type === 'include') === (ws in d._workspaces)))
        .reverse().map((d) => this.present(d));
      return { data, next: null };
    }
    const page = await this.deps.store.telemetryDestinations.list(q);
    return { data: page.data.map((r) => this.present(r.destination as unknown as DestinationObject)), next: page.next };
  }

  async delete(id: string) {
    if (!(await this.deps.store.telemetryDestinations.delete(id))) throw notFound(`no telemetry destination with id ${id}`);
    this.health.delete(id);
    await this.refresh();
    return { id, type: 'telemetry_destination_deleted' as const };
  }

  /** Sends one test span with the registered headers, once, and reports the answer (state is unchanged). */
  async test(id: string) {
    const row = await this.load(id);
    const d = row.destination as unknown as DestinationObject;
    const nowMs = this.deps.clock.now();
    const wait = this.testWaitSeconds(id);
    if (wait > 0) throw new TestTooSoon(id, wait);
    this.lastTest.set(id, nowMs);
    if (!this.deps.sendTest) throw new ApiError(501, 'api_error', 'sending test spans is not available on this server');
    const error = await this.deps.sendTest({
      id, url: tracesUrl(d), headers: await this.headersOf(row), contentMode: d.traces.content_mode,
      maxContentBytes: d.traces.max_content_bytes, revision: `${row.revision}`,
    });
    return { type: 'telemetry_destination_test' as const, result: error ? { type: 'failure' as const, error } : { type: 'success' as const } };
  }

  /** Seconds until the destination may be tested again (0: now). */
  testWaitSeconds(id: string): number {
    const last = this.lastTest.get(id);
    const since = this.deps.clock.now() - (last ?? -Infinity);
    return since >= TEST_INTERVAL_MS ? 0 : Math.ceil((TEST_INTERVAL_MS - since) / 1000);
  }

  async listWorkspaces(id: string): Promise<DestinationWorkspaceObject[]> {
    return destinationWorkspaces((await this.load(id)).destination as unknown as DestinationObject);
  }

  /** Adds a workspace to the include/exclude list (on `all` there is no list: 400). */
  async addWorkspace(id: string, workspaceId: string): Promise<DestinationWorkspaceObject> {
    const row = await this.load(id);
    const d = row.destination as unknown as DestinationObject;
    if (d.workspaces.type === 'all') throw invalidRequest(`telemetry destination ${id} covers all workspaces; set workspaces to include or exclude first`);
    const at = d._workspaces[workspaceId] ?? this.now();
    if (!(workspaceId in d._workspaces)) {
      const next = { ...d, _workspaces: { ...d._workspaces, [workspaceId]: at }, updated_at: this.now() };
      if (!(await this.deps.store.telemetryDestinations.update({ ...row, destination: next as never }))) throw conflict(`telemetry destination ${id} was changed meanwhile; retry`);
      await this.refresh();
    }
    return { type: 'telemetry_destination_workspace', telemetry_destination_id: id, workspace_id: workspaceId, created_at: at };
  }

  async removeWorkspace(id: string, workspaceId: string) {
    const row = await this.load(id);
    const d = row.destination as unknown as DestinationObject;
    if (!(workspaceId in d._workspaces)) throw notFound(`workspace ${workspaceId} is not in the workspace list of telemetry destination ${id}`);
    const rest = { ...d._workspaces };
    delete rest[workspaceId];
    if (!(await this.deps.store.telemetryDestinations.update({ ...row, destination: { ...d, _workspaces: rest, updated_at: this.now() } as never }))) {
      throw conflict(`telemetry destination ${id} was changed meanwhile; retry`);
    }
    await this.refresh();
    return { type: 'telemetry_destination_workspace_deleted' as const, telemetry_destination_id: id, workspace_id: workspaceId };
  }
}

/** 429: a destination was tested less than 10 s ago; `retryAfterSeconds` goes in `retry-after`. */
export class TestTooSoon extends ApiError {
  readonly retryAfterSeconds: number;
  constructor(id: string, wait: number) {
    super(429, 'rate_limit_error', `telemetry destination ${id} was tested less than ${TEST_INTERVAL_MS / 1000} s ago; retry after ${wait} s`);
    this.retryAfterSeconds = wait;
  }
}
