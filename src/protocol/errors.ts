// Wire errors: the API's error envelope and the typed errors that map onto it.
// Only these reach clients; internal failures are mapped to `api_error` by the server.

export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'billing_error'
  | 'permission_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'timeout_error'
  | 'api_error'
  | 'overloaded_error';

export interface ErrorEnvelope {
  type: 'error';
  error: { type: ErrorType; message: string; details?: { error_code: string } };
  request_id: string;
}

/** An error meant for the client: carries its HTTP status, envelope type and optional error code. */
export class ApiError extends Error {
  readonly status: number;
  readonly type: ErrorType;
  readonly errorCode: string | undefined;
  /** Deliberate conflicts tell the SDK not to retry (`x-should-retry: false`). */
  readonly shouldRetry: boolean | undefined;

  constructor(status: number, type: ErrorType, message: string, opts: { errorCode?: string; shouldRetry?: boolean } = {}) {
    super(message);
    this.name = new.target.name;
    this.status = status;
    this.type = type;
    this.errorCode = opts.errorCode;
    this.shouldRetry = opts.shouldRetry;
  }

  toEnvelope(requestId: string): ErrorEnvelope {
    const error: ErrorEnvelope['error'] = { type: this.type, message: this.message };
    if (this.errorCode) error.details = { error_code: this.errorCode };
    return { type: 'error', error, request_id: requestId };
  }
}

export const invalidRequest = (message: string, errorCode?: string) =>
  new ApiError(400, 'invalid_request_error', message, { errorCode });

export const notFound = (message: string, errorCode?: string) =>
  new ApiError(404, 'not_found_error', message, { errorCode });

/** A semantic 409 (version conflict, duplicate name): never worth retrying. */
export const conflict = (message: string, errorCode?: string) =>
  new ApiError(409, 'invalid_request_error', message, { errorCode, shouldRetry: false });

export const unauthenticated = (message: string) => new ApiError(401, 'authentication_error', message);

export const forbidden = (message: string, errorCode?: string) =>
  new ApiError(403, 'permission_error', message, { errorCode });

export const tooLarge = (message: string) => new ApiError(413, 'request_too_large', message);
