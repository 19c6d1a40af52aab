"""Topview (api.topview.ai): upload and remove background. ``provider.Topview`` is what the
mock serves."""
