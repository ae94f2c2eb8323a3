'use client';
import { Suspense } from 'react';
import { MembersPanel } from '@/features/project/members-panel';
import { ProjectShell } from '@/features/project/project-shell';

export default function Page() {
  return (
    <Suspense>
      <ProjectShell>{(project) => <MembersPanel key={project.id} project={project} />}</ProjectShell>
    </Suspense>
  );
}
