'use client';
import { AppHeader } from '@/components/app-header';
import { ProjectList } from '@/features/project/project-list';
import { RequireAuth } from '@/features/auth/require-auth';

export default function HomePage() {
  return (
    <RequireAuth>
      <div className="app">
        <AppHeader />
        <main className="main">
          <ProjectList />
        </main>
      </div>
    </RequireAuth>
  );
}
