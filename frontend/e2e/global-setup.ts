import { mkdirSync, rmSync } from 'node:fs';
import { SHOTS } from './support';

/** Only this run's screenshots in test-artifacts/screenshots. */
export default function globalSetup(): void {
  rmSync(SHOTS, { recursive: true, force: true });
  mkdirSync(SHOTS, { recursive: true });
}
