"""Webhooks: a project's subscriptions to its events, signed deliveries with retries, and the
delivery log. `events` makes deliveries where things happen, `hooks` is what owners manage,
`deliveries` the state of each delivery (the worker's `filament_worker.webhooks` sends them),
`signing` the signature, `hosts` which targets may be called (docs/webhooks.md)."""
