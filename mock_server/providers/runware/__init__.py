"""Runware (api.runware.ai, ws-api.runware.ai, im.runware.ai): one task API over REST and
WebSocket. ``provider.Runware`` is what the mock serves; the handlers are in ``service``."""
