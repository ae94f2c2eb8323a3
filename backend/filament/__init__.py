"""Filament: a self-hosted, multi-user active-learning labeling platform."""

__version__ = "0.1.0"
