"""filament.ml stays plain torch/numpy/scikit-learn: no web, database, queue or cloud code."""

import subprocess
import sys

FORBIDDEN = ("fastapi", "sqlmodel", "sqlalchemy", "arq", "boto3", "pydantic_settings", "redis")


def test_ml_imports_no_service_code() -> None:
    code = (
        "import sys\n"
        "import filament.ml\n"
        "assert 'torch' not in sys.modules, 'importing the package must stay light'\n"
        "import filament.ml.strategies, filament.ml.calibration, filament.ml.heads\n"
        "assert 'torch' not in sys.modules, 'strategies/heads/calibration need no torch'\n"
        "import filament.ml.backbones, filament.ml.embedder, filament.ml.images\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
