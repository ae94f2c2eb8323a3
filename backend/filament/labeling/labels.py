"""The one rule for a label set given to an item: known labels only, exactly one in a
single-label project; kept in the project's order without repeats. Used by the annotation and
suggestion routes and by the worker's import of labels with an upload."""

from filament.core.errors import Unprocessable
from filament.db.models import Project


class LabelsRefused(Unprocessable):
    def __init__(self, project: Project, labels: list[str], unknown: list[str]) -> None:
        self.unknown = unknown
        self.count = len(labels)
        if self.unknown:
            message = (
                f"Unknown label(s) {', '.join(map(repr, self.unknown))}; "
                f"this project's labels are {', '.join(project.labels)}"
            )
        else:
            message = f"This project takes exactly one label per item (got {self.count})"
        super().__init__(message)


def checked_labels(project: Project, labels: list[str]) -> list[str]:
    """`labels` in project order, without repeats; LabelsRefused says what is wrong."""
    unknown = [label for label in labels if label not in project.labels]
    if unknown or (not project.task.multilabel and len(labels) != 1):
        raise LabelsRefused(project, labels, unknown)
    return [label for label in project.labels if label in set(labels)]
