// Wire schemas of telemetry destinations (`client.beta.organization.telemetryDestinations`, issue
// 11): an OTLP/HTTP endpoint, write-only request headers, what the spans contain, which workspaces.
import { z } from 'zod';

/** https anywhere, plain http only to loopback (a local collector); no credentials in the URL. */
export function otlpUrlProblem(raw: string): string | undefined {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return 'must be an absolute URL';
  }
  if (u.username || u.password) return 'must not carry credentials; send them as headers';
  if (u.protocol === 'https:') return undefined;
  if (u.protocol !== 'http:') return 'must be an https:// URL (or http:// to a loopback collector)';
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const loopback = host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
  return loopback ? undefined : 'plain http:// is allowed only to a loopback collector (127.0.0.0/8, [::1], localhost); use https://';
}

const urlSchema = z.string().max(2048).superRefine((v, ctx) => {
  const problem = otlpUrlProblem(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
/** Headers the exporter sets itself or that would break the request; refused rather than silently overridden. */
const RESERVED_HEADERS = new Set(['content-type', 'content-length', 'content-encoding', 'host', 'connection', 'transfer-encoding', 'user-agent', 'te', 'upgrade', 'keep-alive']);
const headerValue = z.string().min(1).max(8192).regex(/^[^\r\n\0]*$/, { error: 'header values must not contain CR, LF or NUL' });

function checkHeaderNames(headers: Record<string, unknown>, ctx: z.RefinementCtx): void {
  const names = Object.keys(headers);
  if (names.length > 20) ctx.addIssue({ code: 'custom', message: 'at most 20 headers' });
  const seen = new Set<string>();
  for (const name of names) {
    const lower = name.toLowerCase();
    if (!HEADER_NAME.test(name)) ctx.addIssue({ code: 'custom', message: `"${name.slice(0, 64)}" is not a valid header name`, path: [name] });
    else if (RESERVED_HEADERS.has(lower)) ctx.addIssue({ code: 'custom', message: `"${name}" is set by the exporter and cannot be registered`, path: [name] });
    else if (seen.has(lower)) ctx.addIssue({ code: 'custom', message: `"${name}" is given twice (header names are case-insensitive)`, path: [name] });
    seen.add(lower);
  }
}

const workspaceIds = z.array(z.string().regex(/^wrkspc_[A-Za-z0-9_]{1,200}$/, { error: 'must be a workspace id (wrkspc_…)' })).max(100);

export const workspacesParamSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('all') }).strict(),
  z.object({ type: z.literal('include'), workspace_ids: workspaceIds.optional() }).strict(),
  z.object({ type: z.literal('exclude'), workspace_ids: workspaceIds.optional() }).strict(),
], { error: 'workspaces.type must be "all", "include" or "exclude"' });

const tracesSchema = z.object({
  content_mode: z.enum(['metadata_only', 'content']).nullable().optional(),
  enabled: z.boolean().optional(),
  endpoint_url: urlSchema.nullable().optional(),
  max_content_bytes: z.number().int().min(1).max(1_048_576).nullable().optional(),
}).strict();

export const destinationCreateSchema = z.object({
  endpoint_url: urlSchema,
  workspaces: workspacesParamSchema,
  display_name: z.string().max(256).nullable().optional(),
  headers: z.record(z.string(), headerValue).superRefine(checkHeaderNames).optional(),
  traces: tracesSchema.optional(),
}).strict();

export const destinationUpdateSchema = z.object({
  display_name: z.string().max(256).nullable().optional(),
  endpoint_url: urlSchema.optional(),
  headers: z.record(z.string(), headerValue.nullable()).superRefine(checkHeaderNames).optional(),
  state: z.discriminatedUnion('type', [z.object({ type: z.literal('enabled') }).strict(), z.object({ type: z.literal('disabled') }).strict()]).optional(),
  traces: tracesSchema.nullable().optional(),
  workspaces: workspacesParamSchema.optional(),
}).strict().refine((v) => Object.keys(v).length > 0, { error: 'send at least one field to change' });

export type DestinationCreateParams = z.output<typeof destinationCreateSchema>;
export type DestinationUpdateParams = z.output<typeof destinationUpdateSchema>;
export type WorkspacesParam = z.output<typeof workspacesParamSchema>;
