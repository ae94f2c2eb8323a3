""" "More like this": the items nearest in embedding space to an item, or to a typed text
encoded by the project's backbone (its live embedding generation)."""

from pathlib import Path

import numpy as np

from filament.core.errors import Conflict, Unprocessable
from filament.db.models import ItemKind, Project
from filament.ml.similarity import nearest
from filament.models.artifacts import load_embeddings
from filament.models.encoders import encode
from filament.storage import Storage


def similar_to_item(
    storage: Storage, project: Project, item_id: int, limit: int
) -> tuple[list[tuple[int, float]], int]:
    """``([(item id, cosine)], items searched)``, most similar first, the item left out."""
    embeddings = load_embeddings(storage, project.id or 0, project.embedding_version)
    (row,) = embeddings.rows_of(np.array([item_id], dtype=np.int64))
    if row < 0:
        raise Conflict("This item has no embedding yet: it is still being processed")
    rows, sims = nearest(
        embeddings.vectors, embeddings.vectors[row], limit, exclude=np.array([row])
    )
    found = list(zip(embeddings.item_ids[rows].tolist(), sims.tolist(), strict=True))
    return found, len(embeddings.item_ids)


def similar_to_text(
    storage: Storage, project: Project, text: str, limit: int, weights_dir: Path | None
) -> tuple[list[tuple[int, float]], int]:
    """The items nearest to ``text`` (a text project's); encoded as items are."""
    if project.task.modality != ItemKind.text:
        raise Unprocessable("Search by text needs a text project; this one holds images")
    embeddings = load_embeddings(storage, project.id or 0, project.embedding_version)
    if len(embeddings.item_ids) == 0:
        return [], 0
    query = encode(storage, project, [text], weights_dir, project.embedding_version)[0]
    rows, sims = nearest(embeddings.vectors, query, limit)
    found = list(zip(embeddings.item_ids[rows].tolist(), sims.tolist(), strict=True))
    return found, len(embeddings.item_ids)
