'use client';
import { AppHeader } from '@/components/app-header';
import { CreateProjectForm } from '@/features/project/create-project-form';
import { RequireAuth } from '@/features/auth/require-auth';

export default function NewProjectPage() {
  return (
    <RequireAuth>
      <div className="app">
        <AppHeader />
        <main className="main">
          <CreateProjectForm />
        </main>
      </div>
    </RequireAuth>
  );
}
