import createClient, { type Middleware } from 'openapi-fetch';
import { getToken, handleUnauthorized } from '../auth';
import { ApiError, messageFor } from './errors';
import type { paths } from './schema';

export const API_PREFIX = '/api/v1';

function absolute(url: string): string {
  // Relative URLs are resolved against the page's origin (the API serves the SPA).
  return typeof window === 'undefined' ? `http://localhost${url}` : new URL(url, window.location.origin).href;
}

const authMiddleware: Middleware = {
  onRequest({ request }) {
    const token = getToken();
    if (token && !request.headers.has('Authorization')) request.headers.set('Authorization', `Bearer ${token}`);
    return request;
  },
  onResponse({ request, response }) {
    // A wrong password on the sign-in form is a 401 too; that one is shown on the form.
    if (response.status === 401 && !request.url.includes('/auth/token')) handleUnauthorized();
    return response;
  },
};

export const api = createClient<paths>({
  baseUrl: typeof window === 'undefined' ? 'http://localhost' : window.location.origin,
  // Looked up per call, so tests can stub globalThis.fetch.
  fetch: (request: Request) => globalThis.fetch(request),
});
api.use(authMiddleware);

interface FetchResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** Unwraps an openapi-fetch result: the data, or an ApiError with a readable message. */
export async function call<T>(pending: Promise<FetchResult<T>>): Promise<T> {
  const { data, error, response } = await pending;
  if (!response.ok) throw new ApiError(messageFor(response.status, error), response.status);
  return data as T;
}

/** For the few calls openapi-fetch cannot express (binary bodies, progress): plain fetch with the token. */
export async function authorizedFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const token = getToken();
  if (token) headers.set('Authorization', `Bearer ${token}`);
  const response = await globalThis.fetch(absolute(`${API_PREFIX}${path}`), { ...init, headers });
  if (response.status === 401) handleUnauthorized();
  if (!response.ok) {
    const body = await response.json().catch(() => null);
    throw new ApiError(messageFor(response.status, body), response.status);
  }
  return response;
}

/** What a 202 from a download says while the server prepares the file (a worker job). */
export interface Pending {
  progress: number;
  message: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Fetches a file that may still be in preparation: while the answer is 202 (a model archive the
 * worker is building) it reports the job's progress and asks again after `Retry-After` seconds.
 */
export async function fetchWhenReady(path: string, onPending?: (pending: Pending) => void, pollMs?: number): Promise<Response> {
  for (;;) {
    const response = await authorizedFetch(path);
    if (response.status !== 202) return response;
    const body = (await response.json().catch(() => null)) as { job?: Partial<Pending> } | null;
    onPending?.({ progress: body?.job?.progress ?? 0, message: body?.job?.message ?? '' });
    const seconds = Number(response.headers.get('Retry-After')) || 2;
    await sleep(pollMs ?? Math.min(Math.max(seconds, 1), 10) * 1000);
  }
}

/** Downloads a file that needs the token: fetch it as a blob, then save it through a link. */
export async function downloadFile(path: string, fallbackName: string, onPending?: (pending: Pending) => void): Promise<void> {
  const response = await fetchWhenReady(path, onPending);
  const blob = await response.blob();
  const disposition = response.headers.get('Content-Disposition') ?? '';
  const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
  const name = match ? decodeURIComponent(match[1]) : fallbackName;
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
