'use client';
import { Suspense, useState } from 'react';
import { Labeler, createLabelSession } from '@/features/labeling/labeler';
import { ProjectShell } from '@/features/project/project-shell';
import { getToken } from '@/lib/auth';
import { useProjectId } from '@/lib/use-project-id';

function LabelRoute() {
  const projectId = useProjectId();
  // Ask for the first items while the project itself loads: no waterfall.
  const [session] = useState(() => (projectId && getToken() ? createLabelSession(projectId) : null));
  return <ProjectShell>{(project) => <Labeler key={project.id} project={project} session={session?.queue && project.id === projectId ? session : null} />}</ProjectShell>;
}

export default function Page() {
  return (
    <Suspense>
      <LabelRoute />
    </Suspense>
  );
}
