'use client';
import { useSearchParams } from 'next/navigation';

/** Project pages carry their id in the query string (`/label/?project=3`): static export. */
export function useProjectId(): number {
  const params = useSearchParams();
  const id = Number(params.get('project'));
  return Number.isInteger(id) && id > 0 ? id : 0;
}

export function projectHref(page: string, projectId: number, extra: Record<string, string | number> = {}): string {
  const query = new URLSearchParams({ project: String(projectId) });
  for (const [key, value] of Object.entries(extra)) query.set(key, String(value));
  return `/${page}/?${query}`;
}
