"""The binding's own version (pyproject.toml says the same; a test checks
it). The library's version is jobq.version()."""

__version__ = "0.2.0"
