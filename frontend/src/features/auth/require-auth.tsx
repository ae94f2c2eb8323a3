'use client';
import { useRouter } from 'next/navigation';
import { useEffect, type ReactNode } from 'react';
import { useToken } from '@/lib/use-session';
import { Loading } from '@/components/ui/spinner';

/** Renders children only with a session; otherwise sends the visitor to sign-in. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const token = useToken();
  const router = useRouter();
  useEffect(() => {
    if (token === null) {
      const next = window.location.pathname + window.location.search;
      router.replace(`/login/?next=${encodeURIComponent(next)}`);
    }
  }, [token, router]);
  if (!token) return <Loading />;
  return <>{children}</>;
}
