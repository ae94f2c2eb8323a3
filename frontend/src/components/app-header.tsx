'use client';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import type { ReactNode } from 'react';
import { useMe, useSignOut } from '@/lib/api/queries';

export function Logo() {
  return (
    <Link href="/" className="logo" aria-label="Filament home">
      <svg width="22" height="22" viewBox="0 0 32 32" aria-hidden>
        <rect width="32" height="32" rx="8" fill="var(--accent)" />
        <path d="M9 23c4-9 10-14 14-14" stroke="#fff" strokeWidth="3" fill="none" strokeLinecap="round" />
        <circle cx="23" cy="9" r="3" fill="#fff" />
      </svg>
      <span>Filament</span>
    </Link>
  );
}

export function AppHeader({ children }: { children?: ReactNode }) {
  const me = useMe();
  const router = useRouter();
  const dropSession = useSignOut();
  const signOut = () => {
    dropSession();
    router.replace('/login/');
  };
  return (
    <header className="topbar">
      <div className="topbar-left">
        <Logo />
        {children}
      </div>
      <div className="topbar-right">
        <Link href="/account/" className="topbar-user" title="Account and API tokens">
          <span className="avatar" aria-hidden>
            {(me.data?.name || me.data?.email || '?').slice(0, 1).toUpperCase()}
          </span>
          <span className="topbar-user-name">{me.data?.name || me.data?.email}</span>
        </Link>
        <button type="button" className="btn btn-ghost btn-sm" onClick={signOut}>
          Sign out
        </button>
      </div>
    </header>
  );
}
