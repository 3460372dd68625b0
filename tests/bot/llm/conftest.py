"""The fine-tuning tests' tiny Llama (built in the test session, no download), for the transformers backend."""

from tests.bot.finetune.conftest import tiny_llm_dir, tiny_llm_settings

__all__ = ["tiny_llm_dir", "tiny_llm_settings"]
