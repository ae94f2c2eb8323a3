"""Dataset exports for training elsewhere: a Hugging Face `datasets` Parquet file
(`parquet.py`) and an ImageNet-style folder zip (`imagefolder.py`), both streamed from the
item rows of `rows.py` through the byte sink of `sink.py`, in constant memory."""
