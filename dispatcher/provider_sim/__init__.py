"""Fake provider HTTP servers (one module per API) for tests and staging (`provider-sim`)."""
