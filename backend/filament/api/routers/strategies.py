from fastapi import APIRouter
from pydantic import BaseModel

from filament.api.deps import CurrentUser
from filament.db.models import Page
from filament.ml.strategies import DEFAULT_STRATEGY, STRATEGIES

router = APIRouter(prefix="/strategies", tags=["projects"])

# what each uncertainty ranks first; all but random choose among clusters of the embeddings,
# the least covered first and typical items first (TypiClust), and before the first model
# exists they choose by coverage and typicality alone
DESCRIPTIONS = {
    "margin": "Items whose two most likely labels are closest.",
    "entropy": "Items whose predicted distribution is the most spread out.",
    "least_confidence": "Items whose most likely label has the lowest probability.",
    "random": "A uniform sample: the baseline the others are measured against.",
}


class StrategyPublic(BaseModel):
    name: str
    description: str
    default: bool


@router.get("")
def list_strategies(user: CurrentUser) -> Page[StrategyPublic]:
    """How a project's queue can choose what to label next; `default` is what new projects use
    (the one that did best in the label-efficiency benchmark)."""
    data = [
        StrategyPublic(
            name=name,
            description=DESCRIPTIONS.get(name, name.replace("_", " ").capitalize()),
            default=name == DEFAULT_STRATEGY,
        )
        for name in sorted(STRATEGIES, key=lambda name: name != DEFAULT_STRATEGY)
    ]
    return Page(data=data, count=len(data))
