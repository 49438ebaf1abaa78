"""Build a tiny Llama model and its tokenizer on the spot, for `transformers serve` with no download.

Run by scripts/interop.py with the Python of the transformers venv:

    python tiny_model.py OUT_DIR

The tokenizer is a byte-level BPE trained on a few sentences; the model has random weights (seed 0), greedy
decoding, and the end-of-sequence row of its output layer zeroed, so every reply runs to max_tokens. Random
weights emit arbitrary bytes: replies carry U+FFFD and raw C0 controls, which is the point (a fidelity test).
"""

from __future__ import annotations

import sys
from pathlib import Path

SENTENCES = [
    "Hello there, how are you today?",
    "Streaming replies arrive one token at a time.",
    "The quick brown fox jumps over the lazy dog.",
    "Servers send events; clients decode them as they come.",
    "A tiny model with random weights says random things.",
    "user: hi\nassistant: hello, what can I do for you?",
]

# Message content may be a string (chat completions) or a list of parts (the Responses API's input_text).
CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: "
    "{% if m['content'] is string %}{{ m['content'] }}"
    "{% else %}{% for part in m['content'] %}{% if part['text'] is defined %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %}\n"
    "{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}"
)


def build(out_dir: Path) -> None:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<s>", "</s>", "<pad>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    bpe.train_from_iterator(SENTENCES * 4, trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    tokenizer.chat_template = CHAT_TEMPLATE

    ids = {name: tokenizer.convert_tokens_to_ids(name) for name in ("<s>", "</s>", "<pad>")}
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=1024,
        bos_token_id=ids["<s>"],
        eos_token_id=ids["</s>"],
        pad_token_id=ids["<pad>"],
        tie_word_embeddings=False,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        model.lm_head.weight[ids["</s>"]].zero_()
    model.generation_config = GenerationConfig(
        do_sample=False, bos_token_id=ids["<s>"], eos_token_id=ids["</s>"], pad_token_id=ids["<pad>"]
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    print(f"vocabulary {len(tokenizer)}, {sum(p.numel() for p in model.parameters())} parameters, written to {out_dir}")


if __name__ == "__main__":
    build(Path(sys.argv[1]))
