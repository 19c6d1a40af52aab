"""PICPIK (api.picpik.ai): the signed, instruction-based API, one ``POST /`` whose ``Action``
names the operation: RemoveBackground, RemoveBackgroundsInBatch and the task queries.

``provider.Picpik`` is what the mock serves; ``settings.PicpikSettings`` its knobs (kept light:
:mod:`bgmock.server.settings` reads it before anything else is imported)."""
