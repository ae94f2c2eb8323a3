'use client';
import { AccountPanel } from '@/features/account/account-panel';
import { AppHeader } from '@/components/app-header';
import { RequireAuth } from '@/features/auth/require-auth';

export default function AccountPage() {
  return (
    <RequireAuth>
      <div className="app">
        <AppHeader />
        <main className="main">
          <AccountPanel />
        </main>
      </div>
    </RequireAuth>
  );
}
