// Turns any API failure into one readable sentence. FastAPI answers `{detail}` where detail is a
// string, or a list of validation errors `{loc, msg, type}`.

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

interface ValidationIssue {
  loc?: unknown;
  msg?: unknown;
}

function describeLocation(loc: unknown): string {
  if (!Array.isArray(loc)) return '';
  const parts = loc.filter((part, i) => !(i === 0 && ['body', 'query', 'path', 'header'].includes(String(part))));
  return parts.map((part) => (typeof part === 'number' ? `#${part + 1}` : String(part).replace(/_/g, ' '))).join(' ');
}

function cleanMessage(msg: string): string {
  // Pydantic prefixes custom errors with "Value error, ".
  return msg.replace(/^Value error,\s*/i, '');
}

export function formatDetail(detail: unknown): string | null {
  if (detail == null) return null;
  if (typeof detail === 'string') return detail;
  if (Array.isArray(detail)) {
    const lines = detail.map((issue: ValidationIssue | string) => {
      if (typeof issue === 'string') return issue;
      const where = describeLocation(issue?.loc);
      const msg = typeof issue?.msg === 'string' ? cleanMessage(issue.msg) : 'is invalid';
      return where ? `${where[0].toUpperCase()}${where.slice(1)}: ${msg}` : msg;
    });
    return lines.filter(Boolean).join('. ') || null;
  }
  if (typeof detail === 'object') {
    const nested = (detail as { message?: unknown; msg?: unknown }).message ?? (detail as { msg?: unknown }).msg;
    if (typeof nested === 'string') return nested;
  }
  return null;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'The request was not accepted.',
  401: 'Please sign in again.',
  403: 'You do not have permission to do that.',
  404: 'Not found.',
  409: 'That conflicts with the current state.',
  413: 'The upload is too large.',
  422: 'Some fields are not valid.',
  429: 'Too many requests; try again in a moment.',
  500: 'The server had a problem. Try again.',
  502: 'The server is unreachable.',
  503: 'The server is busy or unavailable.',
};

export function messageFor(status: number, body: unknown): string {
  const fromDetail =
    body && typeof body === 'object' && 'detail' in body ? formatDetail((body as { detail: unknown }).detail) : null;
  return fromDetail ?? STATUS_TEXT[status] ?? `Request failed (${status}).`;
}

/** A readable message for anything thrown: ApiError, network failure, or other. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof TypeError) return 'Cannot reach the server. Check your connection.';
  if (error instanceof Error) return error.message;
  return String(error);
}
