"""gennai: an open, sovereign government generative-AI platform."""

__version__ = "0.1.0"
