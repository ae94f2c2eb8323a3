'use client';
import { useSyncExternalStore } from 'react';
import { getToken, onTokenChange } from './auth';

/** The current token; null when signed out, undefined before the browser has mounted. */
export function useToken(): string | null | undefined {
  return useSyncExternalStore(
    onTokenChange,
    () => getToken(),
    () => undefined,
  );
}
