'use client';
import { Suspense } from 'react';
import { ItemsBrowser } from '@/features/items/items-browser';
import { ProjectShell } from '@/features/project/project-shell';

export default function Page() {
  return (
    <Suspense>
      <ProjectShell>{(project) => <ItemsBrowser key={project.id} project={project} />}</ProjectShell>
    </Suspense>
  );
}
