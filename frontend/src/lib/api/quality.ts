// The quality tools' API: likely label errors, near-duplicates, "more like this", the label
// forecast and stop advice. Hooks as in queries.ts, through the generated client.
import { useMutation, useQuery } from '@tanstack/react-query';
import { api, call } from './client';
import { useInvalidateProject } from './queries';
import type { BodyOf, ResponseOf } from './types';

export type LabelIssuePage = ResponseOf<'/api/v1/projects/{project_id}/label-issues', 'get'>;
export type LabelIssue = LabelIssuePage['data'][number];
export type SimilarPage = ResponseOf<'/api/v1/projects/{project_id}/items/{item_id}/similar', 'get'>;
export type SimilarItem = SimilarPage['data'][number];
export type DuplicateGroup = ResponseOf<'/api/v1/projects/{project_id}/items/{item_id}/duplicates', 'get'>;
export type DuplicatesLabeled = ResponseOf<'/api/v1/projects/{project_id}/items/{item_id}/duplicates/label', 'post'>;
export type Forecast = ResponseOf<'/api/v1/projects/{project_id}/forecast', 'get'>;
export type StopAdvice = ResponseOf<'/api/v1/projects/{project_id}/stop-advice', 'get'>;
export type StabilityPoint = StopAdvice['history'][number];
type SimilarText = BodyOf<'/api/v1/projects/{project_id}/similar', 'post'>;

export const qualityKeys = {
  labelIssues: (id: number, offset: number) => ['project', id, 'label-issues', offset] as const,
  similar: (id: number, itemId: number) => ['project', id, 'similar', itemId] as const,
  similarText: (id: number, text: string) => ['project', id, 'similar-text', text] as const,
  duplicates: (id: number, itemId: number) => ['project', id, 'duplicates', itemId] as const,
  forecast: (id: number) => ['project', id, 'forecast'] as const,
  stopAdvice: (id: number) => ['project', id, 'stop-advice'] as const,
};

const itemPath = (id: number, itemId: number) => ({ params: { path: { project_id: id, item_id: itemId } } });

/** Gives the item's near-duplicates these labels (source `duplicate`); the labeler's one key. */
export function labelDuplicates(id: number, itemId: number, labels: string[]) {
  return call(api.POST('/api/v1/projects/{project_id}/items/{item_id}/duplicates/label', { ...itemPath(id, itemId), body: { labels } }));
}

export function useLabelIssues(id: number, offset: number, limit: number, enabled = true) {
  return useQuery({
    queryKey: [...qualityKeys.labelIssues(id, offset), limit],
    queryFn: () => call(api.GET('/api/v1/projects/{project_id}/label-issues', { params: { path: { project_id: id }, query: { limit, offset } } })),
    enabled,
  });
}

export function useSimilar(id: number, itemId: number, limit = 8) {
  return useQuery({
    queryKey: [...qualityKeys.similar(id, itemId), limit],
    queryFn: () => call(api.GET('/api/v1/projects/{project_id}/items/{item_id}/similar', { params: { path: { project_id: id, item_id: itemId }, query: { limit } } })),
    retry: false, // 409 while the item waits for its embedding: say so, do not hammer
  });
}

/** Items like a typed text (text projects); runs when `text` is set. */
export function useSimilarText(id: number, text: string, limit = 20) {
  return useQuery({
    queryKey: [...qualityKeys.similarText(id, text), limit],
    queryFn: () => call(api.POST('/api/v1/projects/{project_id}/similar', { params: { path: { project_id: id } }, body: { text, limit } satisfies SimilarText })),
    enabled: text.trim().length > 0,
    retry: false,
  });
}

export function useDuplicates(id: number, itemId: number, enabled = true) {
  return useQuery({
    queryKey: qualityKeys.duplicates(id, itemId),
    queryFn: () => call(api.GET('/api/v1/projects/{project_id}/items/{item_id}/duplicates', itemPath(id, itemId))),
    enabled,
  });
}

export function useLabelDuplicates(id: number) {
  const invalidate = useInvalidateProject();
  return useMutation({
    mutationFn: ({ itemId, labels }: { itemId: number; labels: string[] }) => labelDuplicates(id, itemId, labels),
    onSuccess: () => invalidate(id),
  });
}

/** The label forecast; a new version changes it, so it follows the models' refresh. */
export function useForecast(id: number, training = false) {
  return useQuery({
    queryKey: qualityKeys.forecast(id),
    queryFn: () => call(api.GET('/api/v1/projects/{project_id}/forecast', { params: { path: { project_id: id } } })),
    enabled: id > 0,
    refetchInterval: training ? 5000 : 60_000,
  });
}

export function useStopAdvice(id: number, training = false) {
  return useQuery({
    queryKey: qualityKeys.stopAdvice(id),
    queryFn: () => call(api.GET('/api/v1/projects/{project_id}/stop-advice', { params: { path: { project_id: id } } })),
    enabled: id > 0,
    refetchInterval: training ? 5000 : 60_000,
  });
}
