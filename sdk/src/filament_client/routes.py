"""Every REST route the SDK calls, in one place: its contract test checks each against the
server's OpenAPI (method and path template), so a renamed or removed route fails a test
instead of a user's script."""

from __future__ import annotations

from typing import NamedTuple

API_PREFIX = "/api/v1"


class Route(NamedTuple):
    method: str
    path: str  # a template under /api/v1, as in the OpenAPI document

    def format(self, **params: object) -> str:
        return self.path.format(**params)


REGISTER = Route("POST", "/auth/register")
TOKEN = Route("POST", "/auth/token")
ME = Route("GET", "/users/me")
CREATE_API_TOKEN = Route("POST", "/users/me/tokens")
REVOKE_API_TOKEN = Route("DELETE", "/users/me/tokens/{token_id}")
PROJECTS = Route("GET", "/projects")
CREATE_PROJECT = Route("POST", "/projects")
PROJECT = Route("GET", "/projects/{project_id}")
STATUS = Route("GET", "/projects/{project_id}/status")
ITEMS = Route("GET", "/projects/{project_id}/items")
UPLOAD_ITEMS = Route("POST", "/projects/{project_id}/items")
PLAN_DIRECT_UPLOAD = Route("POST", "/projects/{project_id}/uploads")
COMPLETE_DIRECT_UPLOAD = Route("POST", "/projects/{project_id}/uploads/{upload_id}/complete")
QUEUE = Route("GET", "/projects/{project_id}/queue")
ANNOTATE = Route("POST", "/projects/{project_id}/items/{item_id}/annotations")
MODELS = Route("GET", "/projects/{project_id}/models")
SCORE = Route("POST", "/projects/{project_id}/score")
SCORE_FILES = Route("POST", "/projects/{project_id}/score/files")
EXPORT = Route("GET", "/projects/{project_id}/export")
DOWNLOAD_MODEL = Route("GET", "/projects/{project_id}/models/{version}/download")
JOB = Route("GET", "/jobs/{job_id}")

ALL = [value for value in list(globals().values()) if isinstance(value, Route)]
