"""Re-quantise a GGUF model's slow tensors to Q8_0, once, for llama.cpp's CPU kernels.

The prebuilt llama.cpp CPU wheel (xllamacpp, compiled for any x86-64 with AVX2) has fast matrix kernels for Q8_0
and Q4_0 weights, but multiplies Q4_1 weights (the embedded SmolLM2's) one dot product at a time: a prompt of 400
tokens then takes about 1.5x as long (docs/llm.md, "Faster CPU runtimes"). Q8_0 keeps 8 bits a weight in blocks of 32
with one scale, so the 4-bit values of a Q4_1 block survive it with an error of at most half a step of 1/127 of the
block's largest weight; Q4_0 would lose a second time what Q4_1 kept (the greedy replies change).

`summarize` counts a file's weights and slow tensors (the backend keeps the result beside its copy: gguf-py takes
seconds to read the 49,152-entry vocabulary). `requantized_copy` reads the source with gguf-py (the same reader
transformers uses for GGUF), copies every metadata key, de-quantises each tensor of a type in `SLOW_TYPES` and
quantises it to Q8_0, keeps every other tensor as it is, and writes the copy atomically (a temporary name, then a
rename). A source that gguf-py cannot read is an `LLMError` naming the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from bot.errors import LLMError

SLOW_TYPES = frozenset({"Q4_1"})
"""Tensor types that the prebuilt CPU wheel has no fast matrix kernel for (measured: Q4_1)."""


@dataclass(frozen=True)
class GgufSummary:
    """What a GGUF file holds that the backend needs before loading it (reading one takes seconds: its tokenizer)."""

    parameters: int
    """Weights: the product of each tensor's shape, summed."""
    slow_tensors: int
    """Tensors of a type in `SLOW_TYPES`."""


def summarize(source: Path) -> GgufSummary:
    """Count the weights and the slow tensors of the GGUF file `source`."""
    parameters = slow = 0
    for tensor in _reader(source).tensors:
        count = 1
        for dimension in tensor.shape:
            count *= int(dimension)
        parameters += count
        slow += tensor.tensor_type.name in SLOW_TYPES
    return GgufSummary(parameters, slow)


def requantized_copy(source: Path, target: Path) -> Path:
    """Write `source` with its `SLOW_TYPES` tensors in Q8_0 to `target` (once: an existing `target` is kept)."""
    if target.is_file():
        return target
    import gguf

    reader = _reader(source)
    partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
    target.parent.mkdir(parents=True, exist_ok=True)
    architecture = reader.get_field(gguf.Keys.General.ARCHITECTURE)
    if architecture is None:
        raise LLMError(f"{source}: not a GGUF model (no {gguf.Keys.General.ARCHITECTURE} key)")
    writer = gguf.GGUFWriter(partial, arch=architecture.contents(), endianess=reader.endianess)
    for field in reader.fields.values():
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue  # the writer adds these itself
        value_type = field.types[0]
        sub_type = field.types[-1] if value_type == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), value_type, sub_type=sub_type)
    q8_0 = gguf.GGMLQuantizationType.Q8_0
    for tensor in reader.tensors:
        data, kind = tensor.data, tensor.tensor_type
        if kind.name in SLOW_TYPES:
            data, kind = gguf.quants.quantize(gguf.quants.dequantize(data, kind), q8_0), q8_0
        writer.add_tensor(tensor.name, data, raw_dtype=kind)
    try:
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _reader(source: Path):  # type: ignore[no-untyped-def]
    import gguf

    try:
        return gguf.GGUFReader(source)
    except (OSError, ValueError, KeyError, IndexError) as error:
        raise LLMError(f"{source}: not a GGUF model gguf-py can read ({error})") from error
