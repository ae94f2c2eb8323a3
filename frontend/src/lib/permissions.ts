// What each role may do in a project, as the API enforces it (docs/security.md#roles). The web
// app hides what the caller's role cannot do instead of offering controls that answer 403.
import type { Project, Role } from './api/types';

export type Action =
  | 'changeSettings'
  | 'manageMembers'
  | 'manageDatasets'
  | 'manageWebhooks'
  | 'finetune'
  | 'downloadModels'
  | 'label'
  | 'review';

const ALLOWED: Record<Action, readonly Role[]> = {
  changeSettings: ['owner'],
  manageMembers: ['owner'],
  manageDatasets: ['owner'], // upload, rename, delete
  manageWebhooks: ['owner'], // add, change, delete, test; see the delivery log
  finetune: ['owner'], // start and cancel
  downloadModels: ['owner', 'reviewer'],
  label: ['owner', 'reviewer', 'annotator'],
  review: ['owner', 'reviewer'], // resolve conflicts, see every annotator's figures
};

export function can(project: Pick<Project, 'role'>, action: Action): boolean {
  return ALLOWED[action].includes(project.role);
}
