'use client';
import { Suspense } from 'react';
import { Dashboard } from '@/features/models/dashboard';
import { ProjectShell } from '@/features/project/project-shell';

export default function Page() {
  return (
    <Suspense>
      <ProjectShell>{(project) => <Dashboard key={project.id} project={project} />}</ProjectShell>
    </Suspense>
  );
}
