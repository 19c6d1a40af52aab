"""Runware (api.runware.ai, ws-api.runware.ai): one task API over REST and WebSocket.

``provider.Runware`` is what the mock serves; ``settings.RunwareSettings`` its knobs (kept
light: :mod:`bgmock.server.settings` reads it before anything else is imported)."""
