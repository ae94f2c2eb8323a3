// TanStack Query hooks: one per resource, all through the generated client.
import { useMutation, useQuery, useQueryClient, type UseQueryOptions } from '@tanstack/react-query';
import { api, call } from './client';
import type { Job, ProjectStatus, ProjectUpdate } from './types';

export const keys = {
  me: ['me'] as const,
  projects: ['projects'] as const,
  project: (id: number) => ['project', id] as const,
  status: (id: number) => ['project', id, 'status'] as const,
  models: (id: number) => ['project', id, 'models'] as const,
  members: (id: number) => ['project', id, 'members'] as const,
  datasets: (id: number) => ['project', id, 'datasets'] as const,
  jobs: (id: number) => ['project', id, 'jobs'] as const,
  job: (jobId: number) => ['job', jobId] as const,
  items: (id: number, filters: object) => ['project', id, 'items', filters] as const,
  item: (id: number, itemId: number) => ['project', id, 'item', itemId] as const,
  suggestions: (id: number, label?: string) => ['project', id, 'suggestions', label ?? ''] as const,
  backbones: ['backbones'] as const,
  strategies: ['strategies'] as const,
  tokens: ['tokens'] as const,
};

const path = (id: number) => ({ params: { path: { project_id: id } } });

export function useMe() {
  return useQuery({ queryKey: keys.me, queryFn: () => call(api.GET('/api/v1/users/me')), staleTime: 60_000 });
}

export function useProjects() {
  return useQuery({ queryKey: keys.projects, queryFn: () => call(api.GET('/api/v1/projects')) });
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

export function useMembers(id: number, enabled = true) {
  return useQuery({
    queryKey: keys.members(id),
    queryFn: () => call(api.GET('/api/v1/projects/{project_id}/members', path(id))),
    enabled: id > 0 && enabled,
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
