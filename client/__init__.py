"""Thin reference clients for the provider APIs bgmock fakes.

- :mod:`client.topview`: ``TopviewClient`` / ``AsyncTopviewClient`` (upload, remove background).
- :mod:`client.aidge`: ``AidgeClient`` / ``AsyncAidgeClient`` (Image Background Removal).
- :mod:`client._common`: what every client shares (errors, polling, credentials, and the flows
  that let a sync and an async client share every method body).

Each client needs only ``httpx``, the standard library and bgmock's contract data (the paths of
the operations, which answer is which), and talks to the real provider or to the mock alike:
only ``base_url`` (or an httpx ``transport``) changes.
"""
