"""Built-in stages, registered as `deskbot.stages` entry points and ordered by `[pipeline] stages`."""
