// The session is one bearer token kept in localStorage so it survives reloads.
const KEY = 'filament.token';
type Listener = () => void;
const listeners = new Set<Listener>();

export function getToken(): string | null {
  if (typeof window === 'undefined') return null;
  return window.localStorage.getItem(KEY);
}

export function setToken(token: string | null): void {
  if (token) window.localStorage.setItem(KEY, token);
  else window.localStorage.removeItem(KEY);
  for (const listener of listeners) listener();
}

export function onTokenChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Called once, globally, when any request answers 401: drop the token and go to sign-in. */
export function handleUnauthorized(): void {
  if (typeof window === 'undefined') return;
  setToken(null);
  if (!window.location.pathname.startsWith('/login')) {
    const next = window.location.pathname + window.location.search;
    window.location.assign(`/login/?next=${encodeURIComponent(next)}`);
  }
}
