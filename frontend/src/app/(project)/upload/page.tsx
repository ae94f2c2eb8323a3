'use client';
import { Suspense } from 'react';
import { UploadPanel } from '@/components/upload-panel';
import { ProjectShell } from '@/components/project-shell';

export default function Page() {
  return (
    <Suspense>
      <ProjectShell>{(project) => <UploadPanel key={project.id} project={project} />}</ProjectShell>
    </Suspense>
  );
}
