'use client';
import { Suspense } from 'react';
import { SuggestionsReview } from '@/components/suggestions-review';
import { ProjectShell } from '@/components/project-shell';

export default function Page() {
  return (
    <Suspense>
      <ProjectShell>{(project) => <SuggestionsReview key={project.id} project={project} />}</ProjectShell>
    </Suspense>
  );
}
