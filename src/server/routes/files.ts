// HTTP routes of the files API (§4.9): multipart upload, list (PageCursor, `ids[]`, `scope_id`),
// metadata, binary download and delete.
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { Multipart } from '@fastify/multipart';
import type { AppDeps } from '../deps.ts';
import { ApiError, invalidRequest, tooLarge } from '../../protocol/errors.ts';
import { contentDisposition, parseExpiresIn, servedContentType } from '../../domain/files.ts';
import type { StagedUpload } from '../../harness/file-service.ts';
import { idempotentReplay } from '../idempotency.ts';
import { pageBody, pageParams, queryArray, queryOf, queryString } from '../http.ts';

type IdParams = { Params: { id: string } };

const MAX_IDS = 100;

/**
 * Errors of the multipart parser are the client's: a truncated body, a missing boundary or a broken
 * part header is a 400 (limits stay 413), never a 500. Storage errors are not raised in here.
 */
function clientError(err: unknown): unknown {
  if (err instanceof ApiError) return err;
  const e = err as { statusCode?: number; code?: string; message?: string };
  if (e.code === 'FST_REQ_FILE_TOO_LARGE') return err;
  if (e.statusCode === 413) return tooLarge(`multipart body exceeds a limit: ${e.message ?? 'too large'}`);
  return invalidRequest(`malformed multipart/form-data body: ${e.message ?? 'unreadable'}`);
}

/** Re-throws the parser's errors from `source` as client errors (see clientError). */
async function* parsed<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  try {
    for await (const item of source) yield item;
  } catch (err) {
    throw clientError(err);
  }
}

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream) {
    // discard: an unusable part must still be read so the rest of the request can be parsed
  }
}

export function registerFileRoutes(app: FastifyInstance, deps: AppDeps): void {
  const files = deps.files;

  // Parts are read in order and the SDK sends `file` before `expires_in_seconds`, so the bytes are
  // staged first and only become a listed file once every field has been read and validated.
  app.post('/v1/files', async (req, reply) => {
    if (!req.isMultipart()) throw invalidRequest('POST /v1/files expects multipart/form-data with a "file" part');
    let staged: StagedUpload | undefined;
    let problem: ApiError | undefined;
    let expiresInSeconds: number | undefined;
    try {
      const parts: AsyncIterable<Multipart> = parsed(req.parts({ limits: { fileSize: files.maxUploadBytes, fields: 16, fieldSize: 4096 } }));
      for await (const part of parts) {
        if (part.type === 'file') {
          if (problem || staged || part.fieldname !== 'file') {
            problem ??= invalidRequest(staged ? 'send exactly one "file" part' : `unexpected file part "${part.fieldname}"; send the content as "file"`);
            await drain(parsed(part.file));
            continue;
          }
          const stream = part.file;
          staged = await files.stageUpload(parsed(stream), { filename: part.filename, mimeType: part.mimetype, truncated: () => stream.truncated });
        } else if (part.fieldname === 'expires_in_seconds') {
          try {
            expiresInSeconds = parseExpiresIn(String(part.value));
          } catch (err) {
            problem ??= err as ApiError;
          }
        }
      }
      if (problem) throw problem;
      if (!staged) throw invalidRequest('file: a "file" part is required');
      // A retried upload with the same Idempotency-Key is recognised by its content, not its boundary.
      const identity = ['multipart', staged.filename, staged.mimeType, staged.sizeBytes, staged.sha256, expiresInSeconds ?? null];
      if (await idempotentReplay(req, reply, identity)) {
        await files.abandonUpload(staged);
        return reply;
      }
      return await files.finishUpload(staged, { expiresInSeconds, workspaceId: req.principal.workspaceId });
    } catch (err) {
      if (staged) await files.abandonUpload(staged);
      if ((err as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') throw tooLarge(`file exceeds the ${files.maxUploadBytes} byte upload limit`);
      throw err;
    }
  });

  app.get('/v1/files', async (req) => {
    const q = queryOf(req);
    const ids = queryArray(q, 'ids');
    if (ids && ids.length > MAX_IDS) throw invalidRequest(`ids: at most ${MAX_IDS} ids per request`);
    const page = pageParams(q, { order: 'desc', defaultLimit: 20, maxLimit: 1000 });
    const result = await files.list({ limit: page.limit, after: page.after, ids, scopeId: queryString(q, 'scope_id'), workspaceId: req.principal.workspaceId });
    return pageBody(result, page.order);
  });

  app.get<IdParams>('/v1/files/:id', async (req) => files.get(req.params.id));

  app.get<IdParams>('/v1/files/:id/content', async (req, reply) => {
    const { file, content } = await files.open(req.params.id);
    if (!file.downloadable) throw invalidRequest(`file ${file.id} is not downloadable`, 'file_not_downloadable');
    // Always a download, never rendered: attachment, no sniffing, a passive type, and a CSP that
    // blocks script should a browser render it anyway.
    reply
      .header('content-type', servedContentType(file.mime_type))
      .header('content-length', String(file.size_bytes))
      .header('content-disposition', contentDisposition(file.filename))
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "default-src 'none'; sandbox");
    return reply.send(content instanceof Readable ? content : Readable.from(content));
  });

  app.delete<IdParams>('/v1/files/:id', async (req) => {
    await files.delete(req.params.id);
    return { id: req.params.id, type: 'file_deleted' };
  });
}
