'use client';
import { Suspense } from 'react';
import { SettingsPage } from '@/features/project/settings-page';
import { ProjectShell } from '@/features/project/project-shell';

export default function Page() {
  return (
    <Suspense>
      <ProjectShell>{(project) => <SettingsPage key={project.id} project={project} />}</ProjectShell>
    </Suspense>
  );
}
