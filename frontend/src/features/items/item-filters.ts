// The items browser's filters, kept in the page's URL (a static export has no server to keep
// them: `?project=3&view=likely_error&sort=-uncertainty`), so a reload or a shared link opens
// the same list. Pure functions: parsed from and written to URLSearchParams.
import type { ItemsQuery } from '@/lib/api/types';

export const PAGE = 50;

export type SortKey = 'confidence' | 'uncertainty' | 'label_error';
/** `-key`: descending. */
export type Sort = SortKey | `-${SortKey}` | '';
export type QualityView = '' | 'label_disagrees' | 'likely_error' | 'near_duplicate';

export interface ItemFilters {
  status: '' | 'labeled' | 'unlabeled' | 'conflict';
  dataset: string;
  label: string;
  predicted: string;
  annotator: string;
  q: string;
  sort: Sort;
  view: QualityView;
}

export const EMPTY: ItemFilters = { status: '', dataset: '', label: '', predicted: '', annotator: '', q: '', sort: '', view: '' };

const KEYS = Object.keys(EMPTY) as (keyof ItemFilters)[];
const SORTS: readonly string[] = ['confidence', 'uncertainty', 'label_error'].flatMap((key) => [key, `-${key}`]);
const VIEWS: readonly string[] = ['label_disagrees', 'likely_error', 'near_duplicate'];
const STATUSES: readonly string[] = ['labeled', 'unlabeled', 'conflict'];

/** The filters a URL carries; unknown values are dropped (a stale link still opens). */
export function filtersFrom(params: URLSearchParams): ItemFilters {
  const filters = { ...EMPTY };
  for (const key of KEYS) {
    const value = params.get(key) ?? '';
    if (key === 'sort') filters.sort = (SORTS.includes(value) ? value : '') as Sort;
    else if (key === 'view') filters.view = (VIEWS.includes(value) ? value : '') as QualityView;
    else if (key === 'status') filters.status = (STATUSES.includes(value) ? value : '') as ItemFilters['status'];
    else filters[key] = value;
  }
  return filters;
}

/** `params` with the filters written in (empty ones removed); other keys, `project` among them, stay. */
export function withFilters(params: URLSearchParams, filters: ItemFilters): URLSearchParams {
  const next = new URLSearchParams(params.toString());
  for (const key of KEYS) {
    const value = key === 'q' ? filters.q.trim() : filters[key];
    if (value) next.set(key, value);
    else next.delete(key);
  }
  return next;
}

/** With a sort or a preset view the server orders the whole list: pages go by offset. */
export function ordered(filters: ItemFilters): boolean {
  return !!(filters.sort || filters.view);
}

/** Query parameters for GET /items: empty filters are left out; pages after the first by keyset (`after` = last id seen), or by offset when the list is ordered. */
export function itemQuery(filters: ItemFilters, after: number | undefined, offset = 0): ItemsQuery {
  const byOffset = ordered(filters);
  return {
    status: filters.status || undefined,
    dataset: filters.dataset || undefined,
    label: filters.label || undefined,
    predicted: filters.predicted || undefined,
    annotator: filters.annotator ? Number(filters.annotator) : undefined,
    q: filters.q.trim() || undefined,
    sort: filters.sort || undefined,
    quality: filters.view || undefined,
    limit: PAGE,
    after: byOffset ? undefined : after,
    offset: byOffset && offset ? offset : undefined,
  };
}

/** A column header's next sort on click: most first (descending), then ascending, then none. */
export function nextSort(current: Sort, key: SortKey): Sort {
  if (current === `-${key}`) return key;
  if (current === key) return '';
  return `-${key}`;
}

export interface Preset {
  key: string;
  title: string;
  hint: string;
  /** What the preset sets; every other filter stays as it is. */
  apply: Partial<ItemFilters>;
  needsModel?: boolean;
}

/** The preset views over the list. The review helper's "Conflicts" (status=conflict) belongs at the end. */
export const PRESETS: Preset[] = [
  { key: 'all', title: 'All items', hint: 'Every item', apply: { view: '' } },
  {
    key: 'label_disagrees',
    title: 'Label disagrees with model',
    hint: 'Labeled items whose label is not what the active model predicts',
    apply: { view: 'label_disagrees' },
    needsModel: true,
  },
  {
    key: 'likely_error',
    title: 'Likely errors',
    hint: 'Labels the model disputes out-of-fold (confident learning), surest first',
    apply: { view: 'likely_error' },
    needsModel: true,
  },
  {
    key: 'near_duplicate',
    title: 'Near-duplicates',
    hint: 'Items whose embeddings are near-identical to another item, group by group',
    apply: { view: 'near_duplicate' },
  },
];

export function presetActive(preset: Preset, filters: ItemFilters): boolean {
  return Object.entries(preset.apply).every(([key, value]) => filters[key as keyof ItemFilters] === value);
}
