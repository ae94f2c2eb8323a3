"""The public shapes of the quality tools (what the API answers), one place for each."""

from pydantic import BaseModel, Field

from filament.db.models import ItemPublic


class Vote(BaseModel):
    labels: list[str]
    count: int
    annotators: list[str] = Field(description="names; 'import' for labels that came with an upload")


class LabelIssue(BaseModel):
    """ "The model thinks X; N annotators said Y"."""

    item: ItemPublic
    given: list[str] = Field(description="the label the training used (the annotators' majority)")
    model_thinks: list[str] = Field(
        description="single-label: the likely class; multi-label: the labels the model calls "
        "present, the disputed ones flipped"
    )
    disputed: list[str] = Field(description="labels on which the model and the given label differ")
    probability: float = Field(
        description="out-of-fold probability of what the model thinks (multi-label: of the most "
        "disputed label's call)"
    )
    given_probability: float = Field(description="out-of-fold probability of the given call")
    score: float = Field(
        description="what the list is ranked by: 1 - given_probability (for multi-label, of "
        "the most disputed label)"
    )
    annotators: int
    votes: list[Vote]


class LabelIssuePage(BaseModel):
    data: list[LabelIssue]
    count: int = Field(description="flagged items of this version")
    checked: int = Field(0, description="labeled items with an out-of-fold prediction")
    model_version: int | None = None
    method: str = "confident learning (Northcutt et al. 2021) on out-of-fold predictions"
    detail: str | None = None


class SimilarItem(BaseModel):
    item: ItemPublic
    similarity: float = Field(description="cosine of the embeddings")


class SimilarPage(BaseModel):
    data: list[SimilarItem]
    embedded: int = Field(description="items searched")


class SimilarText(BaseModel):
    text: str = Field(min_length=1, description="text projects: encoded by the project's backbone")
    limit: int = Field(20, ge=1, le=200)


class DuplicateGroup(BaseModel):
    item_id: int
    threshold: float = Field(description="cosine at or above which items are near-duplicates")
    data: list[ItemPublic] = Field(description="the item's near-duplicates, itself left out")


class DuplicateLabel(BaseModel):
    labels: list[str] = Field(max_length=500)


class DuplicatesLabeled(BaseModel):
    labeled: list[int] = Field(description="near-duplicates now carrying the caller's label")
    skipped: list[int] = Field(
        description="near-duplicates left as they are: the caller labeled them already, or they "
        "have all the annotators they want"
    )


class Interval(BaseModel):
    value: float
    low: float
    high: float | None = Field(description="null: unbounded (some resamples never get there)")


class CurvePoint(BaseModel):
    version: int
    labels: int
    value: float
    support: int


class ForecastAnswer(BaseModel):
    metric: str
    basis: str | None = Field(
        description="audit (random draws) or cross_validated (queue-chosen items: biased low)"
    )
    points: list[CurvePoint]
    labels_now: int
    fitted_now: float | None = None
    ceiling: Interval | None = Field(
        None,
        description="the fitted ceiling a of a - b n^-c: poorly determined by a few hundred "
        "labels, so the forecast does not rest on it",
    )
    target: float | None = None
    labels_needed: Interval | None = Field(None, description="total labels to reach the target")
    more_labels: Interval | None = Field(None, description="labels beyond the ones there are")
    flattened: bool = Field(
        False, description="one more point would take more than doubling the labels"
    )
    gain_if_doubled: float | None = Field(
        None, description="what doubling the labels adds on the fitted curve"
    )
    law: dict[str, float] | None = Field(None, description="a, b, c of the fitted law")
    message: str


class StabilityPoint(BaseModel):
    version: int
    labels: int
    kappa: float | None
    compared: int = Field(description="stop-set items both models predicted")
    reference_version: int | None


class StopAdvice(BaseModel):
    threshold: float
    window: int
    check_every: int = Field(description="labels between two checks")
    stop_set: int = Field(description="items in the fixed random stop set")
    history: list[StabilityPoint]
    stopped: bool = Field(description="the last `window` checks are all at or above the threshold")
    fired_at: StabilityPoint | None = Field(
        None, description="the check that first completed the run"
    )
    message: str
