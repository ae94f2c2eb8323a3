"""Path and query parameters shared by the routers, bounded once.

Ids are the database's INTEGER: 32-bit on PostgreSQL, so anything above 2**31 - 1 cannot name a
row there, and SQLite raises OverflowError (a 500) past 2**63 - 1. Bounding them here turns
both into a 422 that says which parameter is wrong."""

from typing import Annotated

from fastapi import Path, Query

MAX_ID = 2**31 - 1

IdInt = Annotated[int, Path(ge=1, le=MAX_ID)]
ProjectId = Annotated[int, Path(ge=1, le=MAX_ID, description="a project's id")]
ItemId = Annotated[int, Path(ge=1, le=MAX_ID, description="an item's id")]
DatasetId = Annotated[int, Path(ge=1, le=MAX_ID, description="a dataset's id")]
UserId = Annotated[int, Path(ge=1, le=MAX_ID, description="a user's id")]
TokenId = Annotated[int, Path(ge=1, le=MAX_ID, description="a personal API token's id")]
JobId = Annotated[int, Path(ge=1, le=MAX_ID, description="a job's id")]
UploadId = Annotated[int, Path(ge=1, le=MAX_ID, description="a direct upload's id")]
ModelVersionNumber = Annotated[int, Path(ge=1, le=MAX_ID, description="a model version")]
InvitationId = Annotated[int, Path(ge=1, le=MAX_ID, description="an invitation's id")]
WebhookId = Annotated[int, Path(ge=1, le=MAX_ID, description="a webhook's id")]
DeliveryId = Annotated[int, Path(ge=1, le=MAX_ID, description="a webhook delivery's id")]
# the token of an invitation link (secrets.token_urlsafe(32)); anything else cannot be one
InvitationTokenPath = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9_-]{16,128}$", description="the token of an invitation link")
]
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]
