import { describe, expect, it } from 'vitest';
import { safeNext } from './safe-next';

const ORIGIN = 'https://filament.example';

describe('safeNext', () => {
  it('keeps paths of this origin, with their query', () => {
    expect(safeNext('/dashboard/?project=3', ORIGIN)).toBe('/dashboard/?project=3');
    expect(safeNext('/label?project=1#top', ORIGIN)).toBe('/label?project=1#top');
  });

  it.each([
    '/\\evil.com', // what /login/?next=%2F%5Cevil.com decodes to
    '/\\/evil.com',
    '//evil.com',
    '///evil.com',
    'https://evil.com',
    'javascript:alert(1)',
    '/\t/evil.com',
    'evil.com',
    '',
  ])('refuses %s', (next) => {
    expect(safeNext(next, ORIGIN)).toBe('/');
  });

  it('refuses a missing next', () => {
    expect(safeNext(null, ORIGIN)).toBe('/');
  });

  it('decodes the query string value as the login page reads it', () => {
    const next = new URLSearchParams('next=%2F%5Cevil.com').get('next');
    expect(safeNext(next, ORIGIN)).toBe('/');
  });
});
