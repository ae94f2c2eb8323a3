'use client';
import { Suspense } from 'react';
import { Dashboard } from '@/components/dashboard';
import { ProjectShell } from '@/components/project-shell';

export default function Page() {
  return (
    <Suspense>
      <ProjectShell>{(project) => <Dashboard key={project.id} project={project} />}</ProjectShell>
    </Suspense>
  );
}
