// Item images need the bearer token, so an <img src> cannot load them directly: fetch each as a
// blob once, keep an object URL, and reuse it. Prefetching fills the same cache.
import { authorizedFetch } from './api/client';

const MAX_ENTRIES = 400;
const cache = new Map<string, Promise<string>>();
const resolved = new Map<string, string>();

const keyOf = (projectId: number, itemId: number) => `${projectId}/${itemId}`;

function evict(): void {
  while (cache.size > MAX_ENTRIES) {
    const oldest = cache.keys().next().value as string;
    cache.delete(oldest);
    const url = resolved.get(oldest);
    if (url) URL.revokeObjectURL(url);
    resolved.delete(oldest);
  }
}

export function loadItemImage(projectId: number, itemId: number): Promise<string> {
  const key = keyOf(projectId, itemId);
  const hit = cache.get(key);
  if (hit) {
    // Refresh recency.
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const pending = authorizedFetch(`/projects/${projectId}/items/${itemId}/content`)
    .then((response) => response.blob())
    .then((blob) => {
      const url = URL.createObjectURL(blob);
      resolved.set(key, url);
      return url;
    });
  pending.catch(() => cache.delete(key));
  cache.set(key, pending);
  evict();
  return pending;
}

/** The object URL if the image is already loaded, so a prefetched image shows on first render. */
export function cachedItemImage(projectId: number, itemId: number): string | undefined {
  return resolved.get(keyOf(projectId, itemId));
}

export function prefetchItemImages(projectId: number, itemIds: number[]): void {
  itemIds.forEach((id) => void loadItemImage(projectId, id).catch(() => undefined));
}
