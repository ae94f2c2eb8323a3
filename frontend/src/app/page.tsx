'use client';
import { AppHeader } from '@/components/app-header';
import { ProjectList } from '@/components/project-list';
import { RequireAuth } from '@/components/require-auth';

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
