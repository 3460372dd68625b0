"""Document loaders: one small class per file type, registered as `deskbot.loaders` entry points."""

from knowledge.loaders.base import Loader, LoaderSet, builtin_loaders, read_text

__all__ = ["Loader", "LoaderSet", "builtin_loaders", "read_text"]
