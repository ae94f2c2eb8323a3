/**
 * Where to go after signing in: `next` only if it resolves to this origin (as the browser
 * would resolve it: `/\evil.com` and `//evil.com` are other hosts), else the home page.
 */
export function safeNext(next: string | null, origin: string = window.location.origin): string {
  if (!next?.startsWith('/')) return '/';
  try {
    const url = new URL(next, origin);
    return url.origin === origin ? `${url.pathname}${url.search}${url.hash}` : '/';
  } catch {
    return '/';
  }
}
