'use client';
import { Suspense } from 'react';
import { MembersPanel } from '@/components/members-panel';
import { ProjectShell } from '@/components/project-shell';

export default function Page() {
  return (
    <Suspense>
      <ProjectShell>{(project) => <MembersPanel key={project.id} project={project} />}</ProjectShell>
    </Suspense>
  );
}
