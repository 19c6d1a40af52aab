"""Aidge (api.aidc-ai.com): the IOP-style gateway and Image Background Removal.

``provider.Aidge`` is what the mock serves; ``settings.AidgeSettings`` its knobs (kept light:
:mod:`bgmock.server.settings` reads it before anything else is imported)."""
