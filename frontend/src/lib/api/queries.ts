// The one way components reach the API: TanStack Query hooks, one per resource and action, all
// through the generated client. The label queue lives outside React; it uses the plain request
// functions below, which the hooks share.
import { keepPreviousData, useInfiniteQuery, useMutation, useQuery, useQueryClient, type UseQueryOptions } from '@tanstack/react-query';
import { setToken } from '../auth';
import { fileToBase64 } from '../upload';
import { api, call, downloadFile, type Pending } from './client';
import type { ActivityQuery, GuidelinesUpdate, ItemsQuery, Job, Project, ProjectCreate, ProjectStatus, ProjectUpdate, ReviewDecision, Role, WebhookCreate, WebhookUpdate } from './types';

export const keys = {
  me: ['me'] as const,
  config: ['config'] as const,
  invitation: (token: string) => ['invitation', token] as const,
  projects: ['projects'] as const,
  project: (id: number) => ['project', id] as const,
  status: (id: number) => ['project', id, 'status'] as const,
  models: (id: number) => ['project', id, 'models'] as const,
  agreement: (id: number) => ['project', id, 'agreement'] as const,
  members: (id: number) => ['project', id, 'members'] as const,
  invitations: (id: number) => ['project', id, 'invitations'] as const,
  datasets: (id: number) => ['project', id, 'datasets'] as const,
  jobs: (id: number) => ['project', id, 'jobs'] as const,
  job: (jobId: number) => ['job', jobId] as const,
  items: (id: number, filters: object) => ['project', id, 'items', filters] as const,
  item: (id: number, itemId: number) => ['project', id, 'item', itemId] as const,
  suggestions: (id: number, label?: string) => ['project', id, 'suggestions', label ?? ''] as const,
  conflicts: (id: number, resolved: boolean) => ['project', id, 'conflicts', resolved] as const,
  guidelines: (id: number) => ['project', id, 'guidelines'] as const,
  annotators: (id: number) => ['project', id, 'annotators'] as const,
  activity: (id: number, filters: object) => ['project', id, 'activity', filters] as const,
  backbones: ['backbones'] as const,
  strategies: ['strategies'] as const,
  tokens: ['tokens'] as const,
  webhooks: (id: number) => ['project', id, 'webhooks'] as const,
  deliveries: (id: number, webhookId: number) => ['project', id, 'webhooks', webhookId, 'deliveries'] as const,
};

const path = (id: number) => ({ params: { path: { project_id: id } } });
const itemPath = (id: number, itemId: number) => ({ params: { path: { project_id: id, item_id: itemId } } });

// ---------- requests shared by the hooks and the label queue ----------

export function fetchQueue(id: number, query: { limit: number; exclude?: string }) {
  return call(api.GET('/api/v1/projects/{project_id}/queue', { params: { path: { project_id: id }, query } }));
}

export function fetchItem(id: number, itemId: number) {
  return call(api.GET('/api/v1/projects/{project_id}/items/{item_id}', itemPath(id, itemId)));
}

export function saveAnnotation(id: number, itemId: number, labels: string[]) {
  return call(api.POST('/api/v1/projects/{project_id}/items/{item_id}/annotations', { ...itemPath(id, itemId), body: { labels } }));
}

export function removeAnnotation(id: number, itemId: number) {
  return call(api.DELETE('/api/v1/projects/{project_id}/items/{item_id}/annotations', itemPath(id, itemId)));
}

/** One page of conflicts in item order (open ones, or with `resolved` the resolved items). */
export function fetchConflicts(id: number, query: { limit: number; after?: number; resolved?: boolean }) {
  return call(api.GET('/api/v1/projects/{project_id}/conflicts', { params: { path: { project_id: id }, query } }));
}

/** A reviewer's decision on an item's label (the annotators' labels stay as they are). */
export function saveResolution(id: number, itemId: number, labels: string[]) {
  return call(api.POST('/api/v1/projects/{project_id}/items/{item_id}/resolution', { ...itemPath(id, itemId), body: { labels } }));
}

/** Reopens an item: its resolution goes, and it is a conflict again if its annotators disagree. */
export function removeResolution(id: number, itemId: number) {
  return call(api.DELETE('/api/v1/projects/{project_id}/items/{item_id}/resolution', itemPath(id, itemId)));
}

/** Skip (S): the server ends the caller's hold, so someone else may take the item now. */
export function skipItem(id: number, itemId: number) {
  return call(api.POST('/api/v1/projects/{project_id}/queue/{item_id}/skip', itemPath(id, itemId)));
}

async function signIn(email: string, password: string): Promise<void> {
  const token = await call(
    api.POST('/api/v1/auth/token', {
      body: { username: email, password, scope: '' },
      bodySerializer: (body) => new URLSearchParams(body as Record<string, string>),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    }),
  );
  setToken(token.access_token);
}

// ---------- session and account ----------

/** The signed-in user; `enabled: false` where the page may be open without a session. */
export function useMe(enabled = true) {
  return useQuery({ queryKey: keys.me, queryFn: () => call(api.GET('/api/v1/users/me')), staleTime: 60_000, enabled });
}

/** What the server says before anyone signs in: may visitors register? */
export function useConfig() {
  return useQuery({ queryKey: keys.config, queryFn: () => call(api.GET('/api/v1/config')), staleTime: 60_000 });
}

/** Whether the sign-in page offers to register: open servers, and any server without an account yet. */
export function registrationOpen(config: { registration: string; first_account: boolean } | undefined): boolean {
  return !!config && (config.registration === 'open' || config.first_account);
}

/**
 * Signs in, registering first when a name for the new account is given (with the token of an
 * invitation for this email, which invite-only servers ask for).
 */
export function useSignIn() {
  return useMutation({
    mutationFn: async ({ email, password, register }: { email: string; password: string; register?: { name: string; invitation?: string } }) => {
      if (register) await call(api.POST('/api/v1/auth/register', { body: { email, password, name: register.name, invitation: register.invitation } }));
      await signIn(email, password);
    },
  });
}

/** Drops the token and everything cached for it. */
export function useSignOut() {
  const client = useQueryClient();
  return () => {
    setToken(null);
    client.clear();
  };
}

export function useTokens() {
  return useQuery({ queryKey: keys.tokens, queryFn: () => call(api.GET('/api/v1/users/me/tokens')) });
}

export function useCreateToken() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (name: string) => call(api.POST('/api/v1/users/me/tokens', { body: { name } })),
    onSuccess: () => void client.invalidateQueries({ queryKey: keys.tokens }),
  });
}

export function useRevokeToken() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (tokenId: number) => call(api.DELETE('/api/v1/users/me/tokens/{token_id}', { params: { path: { token_id: tokenId } } })),
    onSuccess: () => void client.invalidateQueries({ queryKey: keys.tokens }),
  });
}

// ---------- projects ----------

export function useProjects() {
  return useQuery({ queryKey: keys.projects, queryFn: () => call(api.GET('/api/v1/projects')) });
}

export function useCreateProject() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: ProjectCreate) => call(api.POST('/api/v1/projects', { body })),
    onSuccess: () => void client.invalidateQueries({ queryKey: keys.projects }),
  });
}

export function useProject(id: number) {
  return useQuery({
    queryKey: keys.project(id),
    queryFn: () => call(api.GET('/api/v1/projects/{project_id}', path(id))),
    enabled: id > 0,
    staleTime: 30_000,
  });
}

const active = (job: Pick<Job, 'status'>) => job.status === 'queued' || job.status === 'running';

/** Project status; polled every 2 s while a model trains, every 10 s otherwise. */
export function useProjectStatus(id: number, options: Partial<UseQueryOptions<ProjectStatus>> = {}) {
  return useQuery({
    queryKey: keys.status(id),
    queryFn: () => call(api.GET('/api/v1/projects/{project_id}/status', path(id))),
    enabled: id > 0,
    refetchInterval: (query) => (query.state.data?.training ? 2000 : 10_000),
    ...options,
  });
}

export function useModels(id: number, training = false) {
  return useQuery({
    queryKey: keys.models(id),
    queryFn: () => call(api.GET('/api/v1/projects/{project_id}/models', path(id))),
    enabled: id > 0,
    refetchInterval: training ? 4000 : false,
  });
}

/** The annotators' agreement as the last training stored it; refetched while one runs. */
export function useAgreement(id: number, training = false) {
  return useQuery({
    queryKey: keys.agreement(id),
    queryFn: () => call(api.GET('/api/v1/projects/{project_id}/agreement', path(id))),
    enabled: id > 0,
    refetchInterval: training ? 4000 : 30_000,
  });
}

export function useMembers(id: number, enabled = true) {
  return useQuery({
    queryKey: keys.members(id),
    queryFn: () => call(api.GET('/api/v1/projects/{project_id}/members', path(id))),
    enabled: id > 0 && enabled,
  });
}

/** The project's invitations not accepted yet (owners only). */
export function useInvitations(id: number, enabled = true) {
  return useQuery({
    queryKey: keys.invitations(id),
    queryFn: () => call(api.GET('/api/v1/projects/{project_id}/invitations', path(id))),
    enabled: id > 0 && enabled,
    // a mail is sent after the invitation is made: look again until it went out or failed
    refetchInterval: (query) => (query.state.data?.data.some((i) => i.mail_status === 'sending') ? 2000 : false),
  });
}

/** Invites an email with a role; the answer holds the link, shown once. */
export function useInvite(id: number) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: { email: string; role: Role }) => call(api.POST('/api/v1/projects/{project_id}/invitations', { ...path(id), body })),
    onSuccess: () => void client.invalidateQueries({ queryKey: keys.invitations(id) }),
  });
}

export function useRevokeInvitation(id: number) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (invitationId: number) =>
      call(api.DELETE('/api/v1/projects/{project_id}/invitations/{invitation_id}', { params: { path: { project_id: id, invitation_id: invitationId } } })),
    onSuccess: () => void client.invalidateQueries({ queryKey: keys.invitations(id) }),
  });
}

/** An invitation as its link's landing page sees it (no sign-in needed). */
export function useInvitation(token: string) {
  return useQuery({
    queryKey: keys.invitation(token),
    queryFn: () => call(api.GET('/api/v1/invitations/{token}', { params: { path: { token } } })),
    enabled: token.length > 0,
    retry: false,
  });
}

export function useAcceptInvitation() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (token: string) => call(api.POST('/api/v1/invitations/{token}/accept', { params: { path: { token } } })),
    onSuccess: () => void client.invalidateQueries({ queryKey: keys.projects }),
  });
}

const memberPath = (id: number, userId: number) => ({ params: { path: { project_id: id, user_id: userId } } });

export function useChangeMemberRole(id: number) {
  const client = useQueryClient();
  const refresh = () => void client.invalidateQueries({ queryKey: keys.members(id) });
  return useMutation({
    mutationFn: ({ userId, role }: { userId: number; role: Role }) =>
      call(api.PATCH('/api/v1/projects/{project_id}/members/{user_id}', { ...memberPath(id, userId), body: { role } })),
    // a refused change puts the select back to the role the server has
    onSettled: refresh,
  });
}

export function useRemoveMember(id: number) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (userId: number) => call(api.DELETE('/api/v1/projects/{project_id}/members/{user_id}', memberPath(id, userId))),
    onSuccess: () => void client.invalidateQueries({ queryKey: keys.members(id) }),
  });
}

export function useDatasets(id: number) {
  return useQuery({
    queryKey: keys.datasets(id),
    queryFn: () => call(api.GET('/api/v1/projects/{project_id}/datasets', path(id))),
    enabled: id > 0,
  });
}

/** Project jobs, newest first; polled every second while any of them runs. */
export function useJobs(id: number, watch = false) {
  return useQuery({
    queryKey: keys.jobs(id),
    queryFn: () => call(api.GET('/api/v1/projects/{project_id}/jobs', path(id))),
    enabled: id > 0,
    refetchInterval: (query) => (watch || query.state.data?.data.some(active) ? 1000 : false),
  });
}

/** One page of items; the previous page stays on screen while the next one loads. */
export function useItems(id: number, query: ItemsQuery, enabled = true) {
  return useQuery({
    queryKey: keys.items(id, query),
    queryFn: () => call(api.GET('/api/v1/projects/{project_id}/items', { params: { path: { project_id: id }, query } })),
    placeholderData: keepPreviousData,
    enabled,
  });
}

export function useItem(id: number, itemId: number) {
  return useQuery({ queryKey: keys.item(id, itemId), queryFn: () => fetchItem(id, itemId) });
}

/** Labels one item (replacing the caller's earlier annotation). */
export function useSaveAnnotation(id: number) {
  const invalidate = useInvalidateProject();
  return useMutation({
    mutationFn: ({ itemId, labels }: { itemId: number; labels: string[] }) => saveAnnotation(id, itemId, labels),
    onSuccess: () => invalidate(id),
  });
}

export function useSuggestions(id: number, label: string, limit: number) {
  return useQuery({
    queryKey: keys.suggestions(id, label),
    queryFn: () =>
      call(api.GET('/api/v1/projects/{project_id}/suggestions', { params: { path: { project_id: id }, query: { limit, label: label || undefined } } })),
  });
}

/** Submits reviewed suggestions; pending until the next page of suggestions has loaded. */
export function useReviewSuggestions(id: number) {
  const client = useQueryClient();
  const invalidate = useInvalidateProject();
  return useMutation({
    mutationFn: (items: ReviewDecision[]) => call(api.POST('/api/v1/projects/{project_id}/suggestions/review', { ...path(id), body: { items } })),
    onSuccess: () => {
      invalidate(id);
      return client.invalidateQueries({ queryKey: ['project', id, 'suggestions'] });
    },
  });
}

/** Scores a text or an image with the active model. */
export function useScore(id: number) {
  return useMutation({
    mutationFn: async (input: { text?: string; file?: File }) => {
      const body = input.file ? { type: 'images' as const, data: [await fileToBase64(input.file)] } : { type: 'text' as const, texts: [input.text ?? ''] };
      return call(api.POST('/api/v1/projects/{project_id}/score', { ...path(id), body }));
    },
  });
}

// ---------- working as a team ----------

/** The project's guidelines; rarely change, so kept a minute before asking again. */
export function useGuidelines(id: number) {
  return useQuery({
    queryKey: keys.guidelines(id),
    queryFn: () => call(api.GET('/api/v1/projects/{project_id}/guidelines', path(id))),
    enabled: id > 0,
    staleTime: 60_000,
  });
}

export function useSaveGuidelines(id: number) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: GuidelinesUpdate) => call(api.PUT('/api/v1/projects/{project_id}/guidelines', { ...path(id), body })),
    onSuccess: (saved) => client.setQueryData(keys.guidelines(id), saved),
  });
}

/** Per-annotator figures (every row for owners and reviewers, one's own for annotators). */
export function useAnnotators(id: number, enabled = true) {
  return useQuery({
    queryKey: keys.annotators(id),
    queryFn: () => call(api.GET('/api/v1/projects/{project_id}/annotators', path(id))),
    enabled: id > 0 && enabled,
    refetchInterval: 30_000,
  });
}

/** The activity log, newest first, one page at a time ("Load older" asks for the next). */
export function useActivity(id: number, filters: Omit<ActivityQuery, 'before' | 'limit'>, limit = 50) {
  return useInfiniteQuery({
    queryKey: keys.activity(id, filters),
    queryFn: ({ pageParam }) =>
      call(api.GET('/api/v1/projects/{project_id}/activity', { params: { path: { project_id: id }, query: { ...filters, limit, before: pageParam } } })),
    initialPageParam: undefined as number | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    enabled: id > 0,
  });
}

export type ExportContent = 'labels' | 'predictions' | 'items' | 'activity';
export type ExportFormat = 'csv' | 'jsonl' | 'parquet' | 'imagefolder';
/** Datasets to train on elsewhere: they carry the items and their final labels (content=items). */
export const DATASET_FORMATS: readonly ExportFormat[] = ['parquet', 'imagefolder'];
const SUFFIX: Record<ExportFormat, string> = { csv: 'csv', jsonl: 'jsonl', parquet: 'parquet', imagefolder: 'zip' };

export interface ExportOptions {
  /** items (and parquet): every annotator's labels too */
  annotators?: boolean;
  /** parquet and imagefolder: unlabeled items too */
  unlabeled?: boolean;
}

/** The export's query: `labels` is the default content; `annotators` goes with `items` (and parquet), `unlabeled` with the dataset formats. */
export function exportQuery(format: ExportFormat, content: ExportContent, annotators: boolean | ExportOptions = false): string {
  const options = typeof annotators === 'boolean' ? { annotators } : annotators;
  const dataset = DATASET_FORMATS.includes(format);
  const parts = [`format=${format}`];
  if (dataset) parts.push('content=items');
  else if (content !== 'labels') parts.push(`content=${content}`);
  // image folders have nowhere to put annotators' labels
  if ((format === 'parquet' || (!dataset && content === 'items')) && options.annotators) parts.push('annotators=true');
  if (dataset && options.unlabeled) parts.push('unlabeled=true');
  return parts.join('&');
}

/** The file name a download falls back to when the answer names none. */
export function exportFileName(project: Pick<Project, 'name'>, format: ExportFormat, content: ExportContent): string {
  return `${project.name}-${DATASET_FORMATS.includes(format) ? 'dataset' : content}.${SUFFIX[format]}`;
}

/** Downloads the project's labels, the model's predictions, every item's final label or the activity log (CSV, JSONL), or a dataset (Parquet, image folders). */
export function useExport(project: Pick<Project, 'id' | 'name'>) {
  return useMutation({
    mutationFn: ({ format, content, annotators, unlabeled }: { format: ExportFormat; content: ExportContent } & ExportOptions) =>
      downloadFile(`/projects/${project.id}/export?${exportQuery(format, content, { annotators, unlabeled })}`, exportFileName(project, format, content)),
  });
}

/** What a model archive holds: one format (ONNX by default, optionally int8), or all three. */
export type ArchiveChoice = 'onnx' | 'onnx-int8' | 'torchscript' | 'safetensors' | 'all';

/** The download's query string for a choice (`format`, and `quantize` for int8 ONNX). */
export function archiveQuery(choice: ArchiveChoice): string {
  return choice === 'onnx-int8' ? 'format=onnx&quantize=int8' : `format=${choice}`;
}

/** Downloads a model archive; `onPending` hears the build's progress while the server prepares it. */
export function useModelDownload(project: Pick<Project, 'id' | 'name'>) {
  return useMutation({
    mutationFn: ({ version, choice = 'onnx', onPending }: { version: number; choice?: ArchiveChoice; onPending?: (pending: Pending) => void }) =>
      downloadFile(
        `/projects/${project.id}/models/${version}/download?${archiveQuery(choice)}`,
        `${project.name}-model-v${version}${choice === 'all' ? '' : `-${choice}`}.zip`,
        onPending,
      ),
  });
}

export function useBackbones() {
  return useQuery({
    queryKey: keys.backbones,
    queryFn: () => call(api.GET('/api/v1/backbones')),
    staleTime: 300_000,
  });
}

export function useStrategies() {
  return useQuery({
    queryKey: keys.strategies,
    queryFn: () => call(api.GET('/api/v1/strategies')),
    staleTime: 300_000,
  });
}

/** One job, polled every 1.5 s while it is queued or running. */
export function useJob(jobId: number | null | undefined) {
  return useQuery({
    queryKey: keys.job(jobId ?? 0),
    queryFn: () => call(api.GET('/api/v1/jobs/{job_id}', { params: { path: { job_id: jobId ?? 0 } } })),
    enabled: !!jobId,
    refetchInterval: (query) => (query.state.data && !active(query.state.data) ? false : 1500),
  });
}

/** Starts fine-tuning the backbone now (202 with the job; 409 when one is already queued or running). */
export function useStartFinetune(id: number) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => call(api.POST('/api/v1/projects/{project_id}/finetune', path(id))),
    onSuccess: (job) => {
      client.setQueryData(keys.job(job.id), job);
      void client.invalidateQueries({ queryKey: keys.jobs(id) });
      void client.invalidateQueries({ queryKey: keys.status(id) });
    },
  });
}

export function useCancelJob(projectId: number) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (jobId: number) => call(api.POST('/api/v1/jobs/{job_id}/cancel', { params: { path: { job_id: jobId } } })),
    onSuccess: (job) => {
      client.setQueryData(keys.job(job.id), job);
      void client.invalidateQueries({ queryKey: keys.jobs(projectId) });
    },
  });
}

export function useRenameDataset(id: number) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ datasetId, name }: { datasetId: number; name: string }) =>
      call(api.PATCH('/api/v1/projects/{project_id}/datasets/{dataset_id}', { params: { path: { project_id: id, dataset_id: datasetId } }, body: { name } })),
    onSuccess: () => void client.invalidateQueries({ queryKey: keys.datasets(id) }),
  });
}

export function useDeleteDataset(id: number) {
  const invalidate = useInvalidateProject();
  return useMutation({
    mutationFn: (datasetId: number) =>
      call(
        api.DELETE('/api/v1/projects/{project_id}/datasets/{dataset_id}', {
          params: { path: { project_id: id, dataset_id: datasetId }, query: { confirm: true } },
        }),
      ),
    onSuccess: () => invalidate(id),
  });
}

/** Invalidates everything that depends on a project's labels. */
export function useInvalidateProject() {
  const client = useQueryClient();
  return (id: number) => {
    void client.invalidateQueries({ queryKey: ['project', id] });
    void client.invalidateQueries({ queryKey: keys.projects });
  };
}

export function usePatchProject(id: number) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: ProjectUpdate) =>
      call(api.PATCH('/api/v1/projects/{project_id}', { ...path(id), body })),
    onSuccess: (project) => {
      client.setQueryData(keys.project(id), project);
      void client.invalidateQueries({ queryKey: keys.projects });
    },
  });
}

export { active as isJobActive };
export type { Pending };

// ---------- webhooks (owners) ----------

const webhookPath = (id: number, webhookId: number) => ({ params: { path: { project_id: id, webhook_id: webhookId } } });

export function useWebhooks(id: number) {
  return useQuery({
    queryKey: keys.webhooks(id),
    queryFn: () => call(api.GET('/api/v1/projects/{project_id}/webhooks', path(id))),
    enabled: id > 0,
  });
}

export function useCreateWebhook(id: number) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: WebhookCreate) => call(api.POST('/api/v1/projects/{project_id}/webhooks', { ...path(id), body })),
    onSuccess: () => void client.invalidateQueries({ queryKey: keys.webhooks(id) }),
  });
}

export function useUpdateWebhook(id: number) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ webhookId, body }: { webhookId: number; body: WebhookUpdate }) =>
      call(api.PATCH('/api/v1/projects/{project_id}/webhooks/{webhook_id}', { ...webhookPath(id, webhookId), body })),
    onSuccess: () => void client.invalidateQueries({ queryKey: keys.webhooks(id) }),
  });
}

export function useDeleteWebhook(id: number) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (webhookId: number) => call(api.DELETE('/api/v1/projects/{project_id}/webhooks/{webhook_id}', webhookPath(id, webhookId))),
    onSuccess: () => void client.invalidateQueries({ queryKey: keys.webhooks(id) }),
  });
}

export function useRotateWebhookSecret(id: number) {
  return useMutation({
    mutationFn: (webhookId: number) => call(api.POST('/api/v1/projects/{project_id}/webhooks/{webhook_id}/rotate-secret', webhookPath(id, webhookId))),
  });
}

/** A webhook's delivery log, newest first; polled while a delivery is pending. */
export function useDeliveries(id: number, webhookId: number, limit = 20) {
  return useQuery({
    queryKey: keys.deliveries(id, webhookId),
    queryFn: () =>
      call(
        api.GET('/api/v1/projects/{project_id}/webhooks/{webhook_id}/deliveries', {
          params: { path: { project_id: id, webhook_id: webhookId }, query: { limit } },
        }),
      ),
    refetchInterval: (query) => (query.state.data?.data.some((d) => d.state === 'pending') ? 2000 : false),
  });
}

export function useTestWebhook(id: number) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (webhookId: number) => call(api.POST('/api/v1/projects/{project_id}/webhooks/{webhook_id}/test', webhookPath(id, webhookId))),
    onSuccess: (_, webhookId) => void client.invalidateQueries({ queryKey: keys.deliveries(id, webhookId) }),
  });
}

export function useRedeliver(id: number) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ webhookId, deliveryId }: { webhookId: number; deliveryId: number }) =>
      call(
        api.POST('/api/v1/projects/{project_id}/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver', {
          params: { path: { project_id: id, webhook_id: webhookId, delivery_id: deliveryId } },
        }),
      ),
    onSuccess: (_, { webhookId }) => void client.invalidateQueries({ queryKey: keys.deliveries(id, webhookId) }),
  });
}
