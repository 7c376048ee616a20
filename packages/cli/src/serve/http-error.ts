/**
 * The errors `flex serve` answers with, in the shape OpenAI-compatible clients read:
 * `{ "error": { "message", "type", "param", "code" } }` with a matching HTTP status.
 */

/** Stable codes of the errors the judge server answers with. */
export type ServeErrorCode =
  // 400: the request cannot be judged as sent.
  | 'invalid_json'
  | 'invalid_request'
  | 'invalid_messages'
  | 'invalid_content_part'
  | 'missing_text'
  | 'unrecognized_template'
  | 'frame_count_mismatch'
  | 'unsupported_image'
  | 'unreadable_image'
  | 'image_too_large'
  | 'mixed_frame_sizes'
  | 'unsupported_parameter'
  | 'pointwise_unavailable'
  // 404, 405, 413, 415
  | 'model_not_found'
  | 'not_found'
  | 'method_not_allowed'
  | 'request_too_large'
  | 'unsupported_media_type'
  // 503: overloaded or shutting down.
  | 'queue_full'
  | 'shutting_down'
  // 500 / 502: the served judge failed on a valid request.
  | 'model_error'
  | 'upstream_error';

/** The OpenAI error `type` strings. */
export type ServeErrorType = 'invalid_request_error' | 'not_found_error' | 'server_error' | 'upstream_error' | 'overloaded_error';

/** An HTTP error answer: status, OpenAI error type, stable code and a one-line message. */
export interface ServeHttpError {
  /** HTTP status (400, 404, 413, 415, 500, 502, 503). */
  readonly status: number;
  readonly type: ServeErrorType;
  readonly code: ServeErrorCode | string;
  readonly message: string;
  /** The request field at fault (`messages[1].content[2]`), when there is one. */
  readonly param?: string;
}

/** Builds a 400 `invalid_request_error`. */
export function badRequest(code: ServeErrorCode, message: string, param?: string): ServeHttpError {
  return { status: 400, type: 'invalid_request_error', code, message, ...(param !== undefined ? { param } : {}) };
}

/** The JSON body of an error answer, in OpenAI's shape. */
export function openAiErrorBody(error: ServeHttpError): { error: { message: string; type: string; param: string | null; code: string } } {
  return { error: { message: error.message, type: error.type, param: error.param ?? null, code: error.code } };
}
