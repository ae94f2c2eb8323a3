import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { setToken } from '../auth';
import { api, call } from './client';
import { ApiError } from './errors';

const json = (body: unknown, status: number) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

describe('API client', () => {
  let assign: ReturnType<typeof vi.fn>;
  beforeEach(() => {
    assign = vi.fn();
    vi.stubGlobal('location', { ...window.location, origin: 'http://localhost', pathname: '/dashboard/', search: '?project=3', assign });
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    setToken(null);
  });

  it('sends the bearer token', async () => {
    setToken('abc');
    const fetch = vi.fn(async (request: Request) => {
      expect(request.headers.get('Authorization')).toBe('Bearer abc');
      return json({ id: 1, email: 'a@b.c', name: '', created_at: '' }, 200);
    });
    vi.stubGlobal('fetch', fetch);
    await expect(call(api.GET('/api/v1/users/me'))).resolves.toMatchObject({ id: 1 });
  });

  it('on 401 drops the session and goes to sign-in, once, for any request', async () => {
    setToken('expired');
    vi.stubGlobal('fetch', vi.fn(async () => json({ detail: 'Could not validate credentials' }, 401)));
    await expect(call(api.GET('/api/v1/projects'))).rejects.toBeInstanceOf(ApiError);
    expect(localStorage.getItem('filament.token')).toBeNull();
    expect(assign).toHaveBeenCalledWith('/login/?next=%2Fdashboard%2F%3Fproject%3D3');
  });

  it('turns error bodies into readable messages', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => json({ detail: [{ loc: ['body', 'name'], msg: 'Field required', type: 'missing' }] }, 422)));
    await expect(call(api.GET('/api/v1/projects'))).rejects.toThrow('Name: Field required');
  });
});
