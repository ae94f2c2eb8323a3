"""Trained models of a project: versions and their stored artifacts (embeddings, scores,
plans), the active model's view of the pool (`pool_scores`), encoders and serving of new inputs,
fine-tuning requests, archives and warm-up."""
