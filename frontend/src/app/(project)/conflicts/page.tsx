'use client';
import { Suspense } from 'react';
import { ConflictsReview } from '@/features/conflicts/conflicts-review';
import { ProjectShell } from '@/features/project/project-shell';

export default function Page() {
  return (
    <Suspense>
      <ProjectShell>{(project) => <ConflictsReview key={project.id} project={project} />}</ProjectShell>
    </Suspense>
  );
}
