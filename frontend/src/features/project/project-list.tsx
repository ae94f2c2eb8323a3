'use client';
import Link from 'next/link';
import { useProjectStatus, useProjects } from '@/lib/api/queries';
import { TASKS, type Project } from '@/lib/api/types';
import { percent, supportedHeadline } from '@/lib/metrics';
import { projectHref } from '@/lib/use-project-id';
import { ErrorMessage } from '@/components/ui/alert';
import { Badge, EmptyState, PageHeader, ProgressBar } from '@/components/ui/misc';
import { Loading } from '@/components/ui/spinner';

export function taskTitle(task: Project['task']): string {
  return TASKS.find((t) => t.value === task)?.title ?? task;
}

export function ProjectCard({ project }: { project: Project }) {
  const status = useProjectStatus(project.id, { refetchInterval: false });
  const metric = supportedHeadline(status.data?.metrics, status.data?.labels_in_model);
  const total = project.items_total;
  return (
    <Link href={projectHref('dashboard', project.id)} className="project-card">
      <div className="project-card-top">
        <h2 className="project-card-name">{project.name}</h2>
        <Badge tone={project.role === 'owner' ? 'accent' : 'neutral'}>{project.role}</Badge>
      </div>
      <div className="muted small">
        {taskTitle(project.task)} · {project.labels.length} labels
      </div>
      <ProgressBar value={total ? project.labeled / total : 0} label={`${project.labeled} of ${total} labeled`} />
      <div className="project-card-stats">
        <span>
          <strong>{project.labeled.toLocaleString()}</strong> / {total.toLocaleString()} labeled
        </span>
        <span title={metric ? `${metric.name} on ${metric.support} labels` : 'No model yet'} data-testid="card-metric">
          {metric?.value != null ? (
            <>
              {metric.name} <strong>{percent(metric.value, 1)}</strong>
            </>
          ) : metric ? (
            <span className="muted">
              {metric.name}: {metric.support} of {metric.minSupport} labels
            </span>
          ) : (
            <span className="muted">No model yet</span>
          )}
        </span>
      </div>
    </Link>
  );
}

export function ProjectList() {
  const projects = useProjects();
  return (
    <>
      <PageHeader
        title="Projects"
        description="Each project is a set of items, its labels and the model learning from them."
        actions={
          <Link href="/new/" className="btn btn-primary btn-md">
            New project
          </Link>
        }
      />
      {projects.isPending ? (
        <Loading />
      ) : projects.error ? (
        <ErrorMessage error={projects.error} />
      ) : projects.data.data.length === 0 ? (
        <EmptyState
          title="No projects yet"
          action={
            <Link href="/new/" className="btn btn-primary btn-md">
              Create your first project
            </Link>
          }
        >
          Create a project, upload images or texts, and start labeling. A model trains as you go.
        </EmptyState>
      ) : (
        <div className="project-grid">
          {projects.data.data.map((project) => (
            <ProjectCard key={project.id} project={project} />
          ))}
        </div>
      )}
    </>
  );
}
