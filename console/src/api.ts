// The console's only way to the server: Hangar's public HTTP API (the calls the SDK makes), with the
// API key kept in this tab's sessionStorage and sent as `x-api-key`. A 401 signs the tab out.
export type Json = Record<string, any>;

const KEY = 'hangar.console.apiKey';
const listeners = new Set<() => void>();

export function apiKey(): string | null {
  return sessionStorage.getItem(KEY);
}

export function signIn(key: string): void {
  sessionStorage.setItem(KEY, key);
  listeners.forEach((l) => l());
}

export function signOut(): void {
  sessionStorage.removeItem(KEY);
  listeners.forEach((l) => l());
}

/** Called when the key changes (sign-in, sign-out, a 401). */
export function onAuthChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export class ApiError extends Error {
  constructor(readonly status: number, readonly type: string, message: string) {
    super(message);
  }
}

export function headers(key = apiKey()): Record<string, string> {
  return key ? { 'x-api-key': key } : {};
}

async function failure(res: Response): Promise<ApiError> {
  let type = 'api_error';
  let message = `${res.status} ${res.statusText}`;
  try {
    const body = await res.json();
    if (body?.error?.message) {
      type = String(body.error.type);
      message = String(body.error.message);
    }
  } catch {
    /* not the envelope */
  }
  return new ApiError(res.status, type, message);
}

export async function request<T = Json>(method: string, path: string, body?: unknown, key = apiKey()): Promise<T> {
  const init: RequestInit = { method, headers: { ...headers(key) } };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] = 'application/json';
  }
  const res = await fetch(path, init);
  if (!res.ok) {
    const err = await failure(res);
    if (res.status === 401 && key === apiKey()) signOut();
    throw err;
  }
  return (await res.json()) as T;
}

export const get = <T = Json>(path: string) => request<T>('GET', path);
export const post = <T = Json>(path: string, body?: unknown) => request<T>('POST', path, body);

export interface Page<T> {
  data: T[];
  next_page: string | null;
}

/** A query string from params; arrays become repeated `key[]` values, empty values are left out. */
export function qs(params: Record<string, string | number | boolean | string[] | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) v.forEach((x) => u.append(`${k}[]`, x));
    else u.set(k, String(v));
  }
  const s = u.toString();
  return s ? `?${s}` : '';
}

/** Every page of a list (bounded: at most `maxPages`). */
export async function all<T = Json>(path: string, params: Record<string, any> = {}, maxPages = 20): Promise<T[]> {
  const out: T[] = [];
  let page: string | undefined;
  for (let i = 0; i < maxPages; i++) {
    const res = await get<Page<T>>(`${path}${qs({ ...params, page })}`);
    out.push(...res.data);
    if (!res.next_page) break;
    page = res.next_page;
  }
  return out;
}

/** Downloads a file's content with the key (a plain link could not send the header). */
export async function download(fileId: string, filename: string): Promise<void> {
  const res = await fetch(`/v1/files/${encodeURIComponent(fileId)}/content`, { headers: headers() });
  if (!res.ok) throw await failure(res);
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
