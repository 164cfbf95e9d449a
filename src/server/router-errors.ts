// Answers for requests that never reach a route: the router's own rejections (Fastify's
// `frameworkErrors`: bad percent-encoding, a path parameter over 100 characters) and requests Node's
// HTTP parser refuses (`clientErrorHandler`). Both use the error envelope and carry a request id; the
// router's are answered only after authentication, like every other request.
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, type ErrorType } from '../protocol/errors.ts';
import { newId } from '../protocol/ids.ts';
import { authorize } from './scopes.ts';
import type { Authenticate } from './request-auth.ts';

export function routerErrorHandler(authenticate: Authenticate) {
  return (err: FastifyError, req: FastifyRequest, reply: FastifyReply): void => {
    void (async () => {
      reply.header('request-id', req.id);
      let e: ApiError;
      try {
        await authenticate(req, reply);
        authorize(req.principal, { method: req.method, url: undefined, params: {} });
        e = err.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? new ApiError(414, 'invalid_request_error', 'a path segment (an id) is longer than 100 characters')
          : new ApiError(400, 'invalid_request_error', 'the request path is not valid percent-encoded UTF-8');
      } catch (authErr) {
        if (authErr instanceof ApiError) e = authErr;
        else {
          req.log.error({ err: authErr }, 'unhandled error');
          e = new ApiError(500, 'api_error', 'internal server error');
        }
      }
      reply.status(e.status).send(e.toEnvelope(String(req.id)));
      // Hooks do not run for these requests, so the request log line (request-log.ts) is written
      // here; the path is not logged, since it is malformed and may carry anything.
      req.log.info({ method: req.method, route: '(not routed)', status: e.status, durationMs: Math.round(reply.elapsedTime * 10) / 10 }, 'request');
    })();
  };
}

const REASON: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

/** Fastify's default, with the envelope and a fresh request id in place of its own body. */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, type, message]: [number, ErrorType, string] = err.code === 'HPE_HEADER_OVERFLOW'
    ? [431, 'request_too_large', 'request headers exceed the size limit']
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'timeout_error', 'the request was not received in time']
      : [400, 'invalid_request_error', 'malformed HTTP request'];
  const id = newId('req');
  const body = JSON.stringify(new ApiError(status, type, message).toEnvelope(id));
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${REASON[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n`
      + `request-id: ${id}\r\nconnection: close\r\n\r\n${body}`);
  }
  socket.destroy(err);
}
