"""The version of densekit, in a module of its own so that any part can read it without
importing the package's entry points."""

__version__ = "0.1.0"
