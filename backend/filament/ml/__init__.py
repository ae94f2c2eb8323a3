"""Filament's machine-learning core: plain torch / numpy / scikit-learn, no web or queue code.

Modules (import the one you need; importing the package itself loads nothing heavy):

- ``backbones``: frozen pretrained embedders (images, texts) loaded from local files only.
- ``images``: image decoding and preprocessing shared by ingest, embedding and fine-tuning.
- ``strategies``: uncertainty scores, typicality, TypiClust batches, ``select_batch``.
- ``heads``: light classifier heads on embeddings, cross-validated, safely serialisable.
- ``calibration``: confidence thresholds for suggestions at a target precision.
- ``classifier``: ``ClassifierModel`` (backbone + head as one module), scoring, safe save/load.
- ``finetune``: deep fine-tuning of backbone + head with held-out model selection.
- ``export``: downloadable archives (safetensors, TorchScript, ONNX, ``predict.py``) with
  parity checks; ``splits``: stratified / iterative-stratified hold-out splits.
"""
