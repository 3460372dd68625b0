"""Fine-tuning: adapt the LLM (LoRA) and the embedder to a company's domain, and measure whether it helped.

`sources` reads training files, `preparation` cleans and splits them (shared by both trainers), `lora` and `embedder`
train, `evaluation` measures before/after, `report` writes the HTML + PNG report. The output of each trainer is a
folder that the serving side loads by path (`[llm] adapter`, `[knowledge] embedder_model`).
"""
