'use client';
import { Suspense } from 'react';
import { SettingsPage } from '@/components/settings-page';
import { ProjectShell } from '@/components/project-shell';

export default function Page() {
  return (
    <Suspense>
      <ProjectShell>{(project) => <SettingsPage key={project.id} project={project} />}</ProjectShell>
    </Suspense>
  );
}
