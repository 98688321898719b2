"""The package's version: the one place it is written.

setuptools reads it for the distribution's metadata (``[tool.setuptools.dynamic]`` in
pyproject.toml, parsed without importing the package), ``apiframe_magic.__version__`` re-exports
it, and ``%music status`` shows it. CHANGELOG.md says what changed in each version.
"""

__version__ = "0.2.0"
