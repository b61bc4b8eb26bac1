"""Regulars: customer loyalty and customer insight for supermarkets and retail chains."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("regulars")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
