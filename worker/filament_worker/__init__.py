"""Filament's arq worker: WorkerSettings and the job functions (thin: load -> ml -> store)."""
