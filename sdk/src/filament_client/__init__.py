"""A typed Python client for Filament's REST API, with helpers for the common flows.

from filament_client import Client

client = Client.from_env()                  # FILAMENT_URL / FILAMENT_TOKEN or `filament login`
project = client.create_project("Reviews", "text_classification", ["negative", "positive"])
project.upload("reviews.csv", wait=True)
for item in project.queue():
    project.annotate(item, "positive")
project.wait_for_model()
project.score_texts(["what a lovely place"]).top_labels()
project.export("labels.csv")
project.download_model("model.zip")
"""

from filament_client.client import Client, __version__
from filament_client.errors import (
    AuthenticationError,
    BadRequest,
    Conflict,
    FilamentError,
    FilamentTimeout,
    JobFailed,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    ServerError,
    ServiceUnavailable,
    ValidationFailed,
)
from filament_client.models import (
    ApiToken,
    Item,
    Job,
    ModelVersion,
    Prediction,
    ScoreResult,
    Status,
    Upload,
    User,
)
from filament_client.project import Project
from filament_client.webhooks import verify_signature

__all__ = [
    "ApiToken",
    "AuthenticationError",
    "BadRequest",
    "Client",
    "Conflict",
    "FilamentError",
    "FilamentTimeout",
    "Item",
    "Job",
    "JobFailed",
    "ModelVersion",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "Prediction",
    "Project",
    "RateLimited",
    "ScoreResult",
    "ServerError",
    "ServiceUnavailable",
    "Status",
    "Upload",
    "User",
    "ValidationFailed",
    "__version__",
    "verify_signature",
]
