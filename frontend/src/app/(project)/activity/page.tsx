'use client';
import { Suspense } from 'react';
import { ActivityLog } from '@/features/activity/activity-list';
import { ProjectShell } from '@/features/project/project-shell';

export default function Page() {
  return (
    <Suspense>
      <ProjectShell>{(project) => <ActivityLog key={project.id} project={project} />}</ProjectShell>
    </Suspense>
  );
}
