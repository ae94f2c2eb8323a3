'use client';
import { Suspense } from 'react';
import { ItemsBrowser } from '@/components/items-browser';
import { ProjectShell } from '@/components/project-shell';

export default function Page() {
  return (
    <Suspense>
      <ProjectShell>{(project) => <ItemsBrowser key={project.id} project={project} />}</ProjectShell>
    </Suspense>
  );
}
