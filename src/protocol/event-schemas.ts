// Wire schemas for the events a client may send (docs/API-SPEC.md §4.5) and their content blocks.
import { z } from 'zod';

const base64Source = z.object({ type: z.literal('base64'), media_type: z.string().min(1), data: z.string().min(1) });
const urlSource = z.object({ type: z.literal('url'), url: z.url() });
const fileSource = z.object({ type: z.literal('file'), file_id: z.string().min(1) });
const plainTextSource = z.object({ type: z.literal('text'), media_type: z.literal('text/plain').default('text/plain'), data: z.string() });

export const textBlockSchema = z.object({ type: z.literal('text'), text: z.string() });
const imageBlockSchema = z.object({ type: z.literal('image'), source: z.discriminatedUnion('type', [base64Source, urlSource, fileSource]) });
const documentBlockSchema = z.object({
  type: z.literal('document'),
  source: z.discriminatedUnion('type', [base64Source, plainTextSource, urlSource, fileSource]),
  title: z.string().nullish(),
  context: z.string().nullish(),
});
const searchResultBlockSchema = z.object({
  type: z.literal('search_result'),
  source: z.string(),
  title: z.string(),
  content: z.array(textBlockSchema),
  citations: z.object({ enabled: z.boolean() }).default({ enabled: false }),
});

/** `redacted` blocks appear in outputs only; a client sending one gets a clear 400. */
const redactedRejected = z.object({ type: z.literal('redacted') }).transform((_v, ctx) => {
  ctx.addIssue({ code: 'custom', message: 'redacted blocks cannot be sent by clients' });
  return z.NEVER;
});

const messageContent = z
  .array(z.discriminatedUnion('type', [textBlockSchema, imageBlockSchema, documentBlockSchema, redactedRejected]))
  .min(1, 'content must contain at least one block');

const toolResultContent = z.array(z.discriminatedUnion('type', [textBlockSchema, imageBlockSchema, documentBlockSchema, searchResultBlockSchema]));

export const userMessageSchema = z.object({ type: z.literal('user.message'), content: messageContent });
export const userInterruptSchema = z.object({ type: z.literal('user.interrupt'), session_thread_id: z.string().nullish() });
export const userCustomToolResultSchema = z.object({
  type: z.literal('user.custom_tool_result'),
  custom_tool_use_id: z.string().min(1),
  content: toolResultContent.optional(),
  is_error: z.boolean().nullish(),
  session_thread_id: z.string().nullish(),
});
export const userToolConfirmationSchema = z.object({
  type: z.literal('user.tool_confirmation'),
  tool_use_id: z.string().min(1),
  result: z.enum(['allow', 'deny']),
  deny_message: z.string().max(10_000).nullish(),
  session_thread_id: z.string().nullish(),
});
export const userToolResultSchema = z.object({
  type: z.literal('user.tool_result'),
  tool_use_id: z.string().min(1),
  content: toolResultContent.optional(),
  is_error: z.boolean().nullish(),
  session_thread_id: z.string().nullish(),
});
export const userDefineOutcomeSchema = z.object({
  type: z.literal('user.define_outcome'),
  description: z.string().min(1),
  rubric: z.discriminatedUnion('type', [
    z.object({ type: z.literal('text'), content: z.string().min(1).max(262_144) }),
    z.object({ type: z.literal('file'), file_id: z.string().min(1) }),
  ]),
  max_iterations: z.number().int().min(1).max(20).nullish(),
});
export const systemMessageSchema = z.object({
  type: z.literal('system.message'),
  content: z.array(textBlockSchema).min(1).max(1000),
});

export const sendableEventSchema = z.discriminatedUnion('type', [
  userMessageSchema, userInterruptSchema, userCustomToolResultSchema, userToolConfirmationSchema,
  userToolResultSchema, userDefineOutcomeSchema, systemMessageSchema,
], { error: (issue) => (issue.code === 'invalid_union' ? 'unknown event type' : undefined) });

export type SendableEvent = z.output<typeof sendableEventSchema>;

export const sendEventsSchema = z.object({
  events: z.array(sendableEventSchema).min(1, 'events must contain at least one event').max(100),
});

export const DELTA_TYPES = ['agent.message', 'agent.thinking'] as const;
