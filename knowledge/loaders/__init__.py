"""Document loaders: one small class per file type, registered as `deskbot.loaders` entry points.

The knowledge layer never lists them itself: whoever opens a knowledge base passes the `LoaderSet` to read files
with (Deskbot's `bot` layer builds it from the plugin registry).
"""

from knowledge.loaders.base import Loader, LoaderSet, read_text

__all__ = ["Loader", "LoaderSet", "read_text"]
