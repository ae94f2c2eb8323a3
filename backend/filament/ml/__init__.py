"""Filament's machine-learning core: plain torch / numpy / scikit-learn, no web or queue code.

Modules (import the one you need; importing the package itself loads nothing heavy):

- ``backbones``: the registry of frozen pretrained backbones (images, texts): what each is,
  where its local weights are, how to build it; never downloaded.
- ``embedder``: ``load_embedder`` / ``build_random`` and ``Embedder``, batched inference.
- ``batching``: the image prefetch pipeline, length-sorted text batches and autocast shared by
  embedding, scoring and fine-tuning.
- ``images``: image decoding and preprocessing shared by ingest, embedding and fine-tuning.
- ``strategies``: uncertainty scores, typicality, TypiClust batches, ``select_batch``.
- ``heads``: light classifier heads on embeddings, cross-validated, safely serialisable.
- ``calibration``: confidence thresholds for suggestions at a target precision.
- ``classifier``: ``ClassifierModel`` (backbone + head as one module), scoring, safe save/load.
- ``finetune``: deep fine-tuning of backbone + head with held-out model selection.
- ``export``: downloadable archives (safetensors, TorchScript, ONNX, all or one of them, and
  ``predict.py``) with parity checks; ``quantize``: int8 ONNX and the measurement that decides
  whether it is offered; ``splits``: stratified / iterative-stratified hold-out splits.
"""
