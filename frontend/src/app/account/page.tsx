'use client';
import { AccountPanel } from '@/components/account-panel';
import { AppHeader } from '@/components/app-header';
import { RequireAuth } from '@/components/require-auth';

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
