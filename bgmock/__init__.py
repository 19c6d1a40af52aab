"""bgmock: offline, faithful fakes of image-AI provider APIs.

Installed, everything lives under this one name, so it never shadows a user's own ``client``,
``contracts`` or ``mock_server``: ``bgmock.server`` (the mock; ``mock_server/`` in the
repository), ``bgmock.contracts`` (``contracts/``) and ``bgmock.client`` (``client/``). The
mapping is ``[tool.setuptools] package-dir`` in pyproject.toml.
"""

from bgmock.server import __version__

__all__ = ["__version__"]
