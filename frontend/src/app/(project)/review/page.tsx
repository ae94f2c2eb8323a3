'use client';
import { Suspense } from 'react';
import { SuggestionsReview } from '@/features/suggestions/suggestions-review';
import { ProjectShell } from '@/features/project/project-shell';

export default function Page() {
  return (
    <Suspense>
      <ProjectShell>{(project) => <SuggestionsReview key={project.id} project={project} />}</ProjectShell>
    </Suspense>
  );
}
