// Shapes derived from the generated schema by path, so they follow the backend's OpenAPI
// whatever its component names are.
import type { paths } from './schema';

type JsonBody<R> = R extends { content: { 'application/json': infer J } } ? J : never;
type Ok<R> = R extends { 200: infer A } ? JsonBody<A> : R extends { 201: infer B } ? JsonBody<B> : R extends { 202: infer C } ? JsonBody<C> : never;
type Method = 'get' | 'post' | 'patch' | 'put' | 'delete';
export type ResponseOf<P extends keyof paths, M extends Method & keyof paths[P]> = paths[P][M] extends { responses: infer R } ? Ok<R> : never;
export type BodyOf<P extends keyof paths, M extends Method & keyof paths[P]> = paths[P][M] extends {
  requestBody?: { content: { 'application/json': infer B } };
}
  ? B
  : never;

export type User = ResponseOf<'/api/v1/users/me', 'get'>;
export type Project = ResponseOf<'/api/v1/projects/{project_id}', 'get'>;
export type ProjectCreate = BodyOf<'/api/v1/projects', 'post'>;
export type ProjectUpdate = BodyOf<'/api/v1/projects/{project_id}', 'patch'>;
export type Task = Project['task'];
export type Role = Project['role'];
export type Backbone = ResponseOf<'/api/v1/backbones', 'get'>['data'][number];
export type Strategy = ResponseOf<'/api/v1/strategies', 'get'>['data'][number];
export type Member = ResponseOf<'/api/v1/projects/{project_id}/members', 'get'>['data'][number];
export type Invitation = ResponseOf<'/api/v1/projects/{project_id}/invitations', 'get'>['data'][number];
export type InvitationCreated = ResponseOf<'/api/v1/projects/{project_id}/invitations', 'post'>;
export type InvitationView = ResponseOf<'/api/v1/invitations/{token}', 'get'>;
export type InstanceConfig = ResponseOf<'/api/v1/config', 'get'>;
export type Dataset = ResponseOf<'/api/v1/projects/{project_id}/datasets', 'get'>['data'][number];
export type Job = ResponseOf<'/api/v1/jobs/{job_id}', 'get'>;
export type UploadAccepted = ResponseOf<'/api/v1/projects/{project_id}/items', 'post'>;
export type ItemsQuery = NonNullable<paths['/api/v1/projects/{project_id}/items']['get']['parameters']['query']>;
export type Item = ResponseOf<'/api/v1/projects/{project_id}/items', 'get'>['data'][number];
export type ItemDetail = ResponseOf<'/api/v1/projects/{project_id}/items/{item_id}', 'get'>;
export type QueuePage = ResponseOf<'/api/v1/projects/{project_id}/queue', 'get'>;
export type QueueItem = QueuePage['data'][number];
export type SuggestionPage = ResponseOf<'/api/v1/projects/{project_id}/suggestions', 'get'>;
export type Suggestion = SuggestionPage['data'][number];
export type ReviewDecision = BodyOf<'/api/v1/projects/{project_id}/suggestions/review', 'post'>['items'][number];
export type ConflictPage = ResponseOf<'/api/v1/projects/{project_id}/conflicts', 'get'>;
export type ConflictItem = ConflictPage['data'][number];
export type DecidedBy = ConflictItem['decided_by'];
export type ProjectStatus = ResponseOf<'/api/v1/projects/{project_id}/status', 'get'>;
export type ModelVersion = ResponseOf<'/api/v1/projects/{project_id}/models', 'get'>['data'][number];
export type ScoreResult = ResponseOf<'/api/v1/projects/{project_id}/score', 'post'>;
export type Agreement = ResponseOf<'/api/v1/projects/{project_id}/agreement', 'get'>;
export type AgreementEstimate = NonNullable<Agreement['cohen_kappa']>;
export type Guidelines = ResponseOf<'/api/v1/projects/{project_id}/guidelines', 'get'>;
export type GuidelinesUpdate = BodyOf<'/api/v1/projects/{project_id}/guidelines', 'put'>;
export type LabelGuide = Guidelines['labels'][number];
export type AnnotatorsPage = ResponseOf<'/api/v1/projects/{project_id}/annotators', 'get'>;
export type AnnotatorFigures = AnnotatorsPage['data'][number];
export type ActivityPage = ResponseOf<'/api/v1/projects/{project_id}/activity', 'get'>;
export type ActivityEntry = ActivityPage['data'][number];
export type ActivityQuery = NonNullable<paths['/api/v1/projects/{project_id}/activity']['get']['parameters']['query']>;
export type ActivityAction = NonNullable<ActivityQuery['action']>;
export type ApiToken = ResponseOf<'/api/v1/users/me/tokens', 'get'>['data'][number];
export type Webhook = ResponseOf<'/api/v1/projects/{project_id}/webhooks', 'get'>['data'][number];
export type WebhookCreate = BodyOf<'/api/v1/projects/{project_id}/webhooks', 'post'>;
export type WebhookCreated = ResponseOf<'/api/v1/projects/{project_id}/webhooks', 'post'>;
export type WebhookUpdate = BodyOf<'/api/v1/projects/{project_id}/webhooks/{webhook_id}', 'patch'>;
export type WebhookEvent = WebhookCreate['events'][number];
export type WebhookDelivery = ResponseOf<'/api/v1/projects/{project_id}/webhooks/{webhook_id}/deliveries', 'get'>['data'][number];

/** The prediction every item-like shape may carry. */
export interface PredictionLike {
  labels: string[];
  scores: Record<string, number>;
  model_version?: number | null;
}

export const TASKS: { value: Task; title: string; hint: string }[] = [
  { value: 'image_classification', title: 'Image, single label', hint: 'One label per image' },
  { value: 'image_multilabel', title: 'Image, multi-label', hint: 'Any set of labels per image, or none' },
  { value: 'text_classification', title: 'Text classification', hint: 'One label per text; sentiment too' },
];

export function isMultilabel(task: Task): boolean {
  return task === 'image_multilabel';
}

export function modalityOf(task: Task): 'image' | 'text' {
  return task === 'text_classification' ? 'text' : 'image';
}
