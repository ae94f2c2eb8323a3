'use client';
import { Suspense } from 'react';
import { UploadPanel } from '@/features/upload/upload-panel';
import { ProjectShell } from '@/features/project/project-shell';

export default function Page() {
  return (
    <Suspense>
      <ProjectShell>{(project) => <UploadPanel key={project.id} project={project} />}</ProjectShell>
    </Suspense>
  );
}
