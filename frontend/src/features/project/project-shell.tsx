'use client';
import Link from 'next/link';
import { usePathname } from 'next/navigation';
import type { ReactNode } from 'react';
import { useProject, useProjectStatus } from '@/lib/api/queries';
import type { Project } from '@/lib/api/types';
import { can, type Action } from '@/lib/permissions';
import { projectHref, useProjectId } from '@/lib/use-project-id';
import { AppHeader } from '@/components/app-header';
import { RequireAuth } from '@/features/auth/require-auth';
import { ErrorMessage } from '@/components/ui/alert';
import { Loading } from '@/components/ui/spinner';

const TABS: { page: string; title: string; needs?: Action }[] = [
  { page: 'dashboard', title: 'Dashboard' },
  { page: 'label', title: 'Label' },
  { page: 'review', title: 'Suggestions' },
  { page: 'conflicts', title: 'Conflicts', needs: 'review' },
  { page: 'items', title: 'Items' },
  { page: 'upload', title: 'Upload', needs: 'manageDatasets' },
  { page: 'members', title: 'Members' },
  { page: 'activity', title: 'Activity' },
  { page: 'settings', title: 'Settings & export' },
];

/** The tabs the caller's role may use (the rest are hidden, not refused). */
export function projectTabs(project: Pick<Project, 'role'>) {
  return TABS.filter((tab) => !tab.needs || can(project, tab.needs));
}

/** How many conflicts wait for a review, beside the tab (reviewers and owners only see the tab). */
function ConflictCount({ projectId }: { projectId: number }) {
  const open = useProjectStatus(projectId).data?.conflicts;
  if (!open) return null;
  return (
    <span className="badge badge-warning tab-count" data-testid="conflicts-tab-count" title={`${open} open`}>
      {open.toLocaleString()}
    </span>
  );
}

export function ProjectNav({ project }: { project: Project }) {
  const pathname = usePathname();
  return (
    <nav className="tabs" aria-label="Project">
      {projectTabs(project).map((tab) => {
        const current = pathname.replace(/\/$/, '') === `/${tab.page}`;
        return (
          <Link key={tab.page} href={projectHref(tab.page, project.id)} className={current ? 'tab tab-active' : 'tab'} aria-current={current ? 'page' : undefined}>
            {tab.title}
            {tab.page === 'conflicts' && <ConflictCount projectId={project.id} />}
          </Link>
        );
      })}
    </nav>
  );
}

/** Frame of every project page: header, tabs, and the project loaded once for the children. */
export function ProjectShell({ children }: { children: (project: Project) => ReactNode }) {
  return (
    <RequireAuth>
      <ProjectFrame>{children}</ProjectFrame>
    </RequireAuth>
  );
}

function ProjectFrame({ children }: { children: (project: Project) => ReactNode }) {
  const id = useProjectId();
  const project = useProject(id);
  return (
    <div className="app">
      <AppHeader>
        <span className="crumb-sep">/</span>
        <Link href="/" className="crumb">
          Projects
        </Link>
        {project.data && (
          <>
            <span className="crumb-sep crumb-current-sep">/</span>
            <span className="crumb crumb-current">{project.data.name}</span>
          </>
        )}
      </AppHeader>
      {project.data && <ProjectNav project={project.data} />}
      <main className="main">
        {!id ? (
          <ErrorMessage error={new Error('No project selected. Open one from the projects list.')} />
        ) : project.isPending ? (
          <Loading />
        ) : project.error ? (
          <ErrorMessage error={project.error} title="Could not open the project" />
        ) : (
          children(project.data)
        )}
      </main>
    </div>
  );
}
