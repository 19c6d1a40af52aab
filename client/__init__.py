"""Thin reference clients for the provider APIs bgmock fakes.

- :mod:`client.topview`: ``TopviewClient`` / ``AsyncTopviewClient`` (upload, remove background).
- :mod:`client._common`: what every client shares (errors, polling, credentials).

Each client needs only ``httpx`` and the standard library, and talks to the real provider or to
the mock alike: only ``base_url`` (or an httpx ``transport``) changes.
"""
