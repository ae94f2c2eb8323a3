"""Members read failed jobs' messages: a reason, never an exception's raw text."""

from filament.ml.backbones import BackboneUnavailable
from filament.uploads.ingest import UploadRefused
from filament_worker.common import failure_message


def test_unexpected_errors_do_not_leak_their_text():
    error = RuntimeError("psycopg.OperationalError: password authentication failed for filament")
    message = failure_message("ingest", 7, error)
    assert "psycopg" not in message and "password" not in message
    assert message == "ingest failed: an unexpected error in the worker (job 7; see the worker log)"


def test_errors_written_for_users_are_shown():
    assert "put the weights" in failure_message(
        "embedding", 1, BackboneUnavailable("put the weights in /models")
    )
    assert (
        failure_message("ingest", 1, UploadRefused("a.csv: empty")) == "ingest failed: a.csv: empty"
    )
    assert "out of memory" in failure_message("fine-tuning", 1, MemoryError())
