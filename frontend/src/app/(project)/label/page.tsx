'use client';
import { Suspense } from 'react';
import { Labeler } from '@/components/labeler';
import { ProjectShell } from '@/components/project-shell';

export default function Page() {
  return (
    <Suspense>
      <ProjectShell>{(project) => <Labeler key={project.id} project={project} />}</ProjectShell>
    </Suspense>
  );
}
