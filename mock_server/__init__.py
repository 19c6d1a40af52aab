"""bgmock: offline, faithful fakes of image-AI provider APIs."""

__version__ = "0.1.0"
