"""Tiny randomly initialised backbones shared by the fine-tuning and export tests."""

import pytest
import torch
from filament.ml.embedder import build_random


@pytest.fixture(scope="module")
def resnet():
    torch.manual_seed(0)
    return build_random("resnet18", device="cpu", image_size=32)


@pytest.fixture(scope="module")
def deberta():
    torch.manual_seed(0)
    return build_random("deberta_v3_small", device="cpu")
