"""Errors of the fine-tuning module: one line each, saying what is wrong and how to fix it."""

from knowledge.errors import DeskbotError


class FinetuneError(DeskbotError):
    """Fine-tuning cannot start or failed."""


class TrainingDataError(FinetuneError):
    """A training file is missing, empty or in a format Deskbot does not read."""


class TargetModuleError(FinetuneError):
    """A LoRA target module names a layer the model does not have."""


class InsufficientMemoryError(FinetuneError):
    """The requested batch would not fit in the memory of this machine."""
