// Telemetry destinations (issue 11), free of I/O: the wire object (`BetaTelemetryDestination`),
// which workspaces one covers, where its traces go, and the workspace-list sub-resource. Header
// values never appear here: only their names; the values live sealed in the store.
import type { DestinationCreateParams, DestinationUpdateParams, WorkspacesParam } from '../protocol/telemetry-schemas.ts';

export interface DestinationObject {
  type: 'telemetry_destination';
  id: string;
  created_at: string;
  updated_at: string;
  display_name: string | null;
  endpoint_url: string;
  header_names: string[];
  state: { type: 'enabled' } | { type: 'disabled'; reason: { type: 'caller' } };
  traces: { content_mode: 'metadata_only' | 'content'; enabled: boolean; endpoint_url: string | null; max_content_bytes: number | null };
  workspaces: { type: 'all' | 'include' | 'exclude' };
  delivery_health: { last_error: string | null; last_error_at: string | null; last_success_at: string | null };
  /** Hidden: the include/exclude list and when each workspace joined it. */
  _workspaces: Record<string, string>;
}

const DEFAULT_TRACES: DestinationObject['traces'] = { content_mode: 'metadata_only', enabled: true, endpoint_url: null, max_content_bytes: null };

function workspaceList(w: WorkspacesParam, now: string, previous: Record<string, string> = {}): Record<string, string> {
  if (w.type === 'all') return {};
  return Object.fromEntries((w.workspace_ids ?? []).map((id) => [id, previous[id] ?? now]));
}

export function newDestination(p: DestinationCreateParams, f: { id: string; now: string }): DestinationObject {
  return {
    type: 'telemetry_destination', id: f.id, created_at: f.now, updated_at: f.now, display_name: p.display_name ?? null,
    endpoint_url: p.endpoint_url, header_names: Object.keys(p.headers ?? {}), state: { type: 'enabled' },
    traces: { ...DEFAULT_TRACES, ...definedOf(p.traces ?? {}), content_mode: p.traces?.content_mode ?? 'metadata_only' },
    workspaces: { type: p.workspaces.type }, delivery_health: { last_error: null, last_error_at: null, last_success_at: null },
    _workspaces: workspaceList(p.workspaces, f.now),
  };
}

function definedOf<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Host and port of a URL: a change of either drops the registered headers (they were meant for the old endpoint). */
const origin = (url: string) => { const u = new URL(url); return `${u.hostname}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`; };

/**
 * Applies an update: returns the new object and the new headers (undefined = unchanged). Omitted
 * fields keep their values; a changed endpoint host or port removes the headers unless the same
 * update registers new ones; `traces: null` restores the defaults.
 */
export function updateDestination(d: DestinationObject, headers: Record<string, string>, p: DestinationUpdateParams, now: string): { destination: DestinationObject; headers: Record<string, string> | undefined } {
  const next: DestinationObject = { ...d, updated_at: now };
  let nextHeaders: Record<string, string> | undefined;
  if (p.display_name !== undefined) next.display_name = p.display_name;
  if (p.endpoint_url !== undefined) {
    if (origin(p.endpoint_url) !== origin(d.endpoint_url)) nextHeaders = {};
    next.endpoint_url = p.endpoint_url;
  }
  if (p.headers !== undefined) {
    const merged = { ...(nextHeaders ?? headers) };
    for (const [name, value] of Object.entries(p.headers)) {
      for (const existing of Object.keys(merged)) if (existing.toLowerCase() === name.toLowerCase()) delete merged[existing];
      if (value !== null) merged[name] = value;
    }
    nextHeaders = merged;
  }
  if (nextHeaders) next.header_names = Object.keys(nextHeaders);
  if (p.state) next.state = p.state.type === 'enabled' ? { type: 'enabled' } : { type: 'disabled', reason: { type: 'caller' } };
  if (p.traces === null) next.traces = { ...DEFAULT_TRACES };
  else if (p.traces) {
    const t = p.traces;
    next.traces = {
      ...d.traces, ...definedOf({ enabled: t.enabled, endpoint_url: t.endpoint_url, max_content_bytes: t.max_content_bytes }),
      ...(t.content_mode !== undefined ? { content_mode: t.content_mode ?? 'metadata_only' } : {}),
    };
  }
  if (p.workspaces) {
    next.workspaces = { type: p.workspaces.type };
    next._workspaces = workspaceList(p.workspaces, now, d._workspaces);
  }
  return { destination: next, headers: nextHeaders };
}

/** Whether the destination receives the spans of this workspace. */
export function covers(d: DestinationObject, workspaceId: string): boolean {
  if (d.state.type !== 'enabled' || !d.traces.enabled) return false;
  if (d.workspaces.type === 'all') return true;
  const listed = workspaceId in d._workspaces;
  return d.workspaces.type === 'include' ? listed : !listed;
}

/** Where its traces are posted: `traces.endpoint_url`, else `endpoint_url` + `/v1/traces`. */
export function tracesUrl(d: DestinationObject): string {
  return d.traces.endpoint_url ?? `${d.endpoint_url.replace(/\/+$/, '')}/v1/traces`;
}

/** The wire object: hidden fields dropped. */
export function presentDestination(d: DestinationObject): Omit<DestinationObject, '_workspaces'> {
  const { _workspaces: _w, ...wire } = d;
  return wire;
}

export interface DestinationWorkspaceObject {
  type: 'telemetry_destination_workspace';
  telemetry_destination_id: string;
  workspace_id: string;
  created_at: string;
}

export function destinationWorkspaces(d: DestinationObject): DestinationWorkspaceObject[] {
  return Object.entries(d._workspaces)
    .sort(([, a], [, b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([workspace_id, created_at]) => ({ type: 'telemetry_destination_workspace', telemetry_destination_id: d.id, workspace_id, created_at }));
}
