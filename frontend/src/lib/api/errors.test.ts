import { describe, expect, it } from 'vitest';
import { ApiError, errorMessage, formatDetail, messageFor } from './errors';

describe('formatDetail', () => {
  it('passes a string detail through', () => {
    expect(formatDetail('Project not found')).toBe('Project not found');
  });

  it('formats a FastAPI validation list into sentences', () => {
    const detail = [
      { loc: ['body', 'email'], msg: 'value is not a valid email address', type: 'value_error' },
      { loc: ['body', 'labels', 0], msg: 'Value error, labels must be unique', type: 'value_error' },
    ];
    expect(formatDetail(detail)).toBe('Email: value is not a valid email address. Labels #1: labels must be unique');
  });

  it('formats a list entry without a location', () => {
    expect(formatDetail([{ msg: 'Field required' }])).toBe('Field required');
  });

  it('returns null for shapes it cannot read', () => {
    expect(formatDetail(null)).toBeNull();
    expect(formatDetail(42)).toBeNull();
  });
});

describe('messageFor', () => {
  it('prefers the detail', () => {
    expect(messageFor(409, { detail: 'Labels cannot be removed' })).toBe('Labels cannot be removed');
  });

  it('falls back to words for the status, never raw JSON', () => {
    expect(messageFor(500, { unexpected: true })).toBe('The server had a problem. Try again.');
    expect(messageFor(418, null)).toBe('Request failed (418).');
  });
});

describe('errorMessage', () => {
  it('reads ApiErrors and network failures', () => {
    expect(errorMessage(new ApiError('Nope', 403))).toBe('Nope');
    expect(errorMessage(new TypeError('Failed to fetch'))).toMatch(/Cannot reach the server/);
  });
});
