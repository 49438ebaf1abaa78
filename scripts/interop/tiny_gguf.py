"""Write the tiny Llama that tiny_model.py built as one GGUF file, for llama.cpp's server, with no download.

Run by scripts/interop.py with the Python of the llama.cpp venv (where `gguf`, `numpy` and `safetensors` are):

    python tiny_gguf.py HF_DIR OUT.gguf

The weights are read with safetensors' numpy loader and written as float32; the byte-level BPE vocabulary and
merges come from tokenizer.json, the chat template from tokenizer_config.json. The query and key projections are
permuted the way llama.cpp's own converter does it (llama.cpp applies rotary embeddings to interleaved pairs,
Hugging Face to halves); with random weights that changes nothing but keeps the file an honest conversion.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

TOKEN_NORMAL, TOKEN_CONTROL = 1, 3


def permute(weights, heads: int):
    """Hugging Face's rotary layout to llama.cpp's, as llama.cpp's convert_hf_to_gguf.py does it."""
    return weights.reshape(heads, 2, weights.shape[0] // heads // 2, *weights.shape[1:]).swapaxes(1, 2).reshape(weights.shape)


def vocabulary(tokenizer: dict) -> tuple[list[str], list[int], list[str]]:
    """(tokens by id, their GGUF token types, merges as "left right" strings)."""
    by_id = {index: token for token, index in tokenizer["model"]["vocab"].items()}
    special = set()
    for added in tokenizer.get("added_tokens", []):
        by_id[added["id"]] = added["content"]
        if added.get("special"):
            special.add(added["id"])
    tokens = [by_id[index] for index in range(len(by_id))]  # a gap would be a KeyError: the ids must be dense
    types = [TOKEN_CONTROL if index in special else TOKEN_NORMAL for index in range(len(tokens))]
    merges = [merge if isinstance(merge, str) else " ".join(merge) for merge in tokenizer["model"]["merges"]]
    return tokens, types, merges


def convert(hf_dir: Path, out: Path) -> str:
    import gguf
    from safetensors.numpy import load_file

    config = json.loads((hf_dir / "config.json").read_text())
    tokenizer = json.loads((hf_dir / "tokenizer.json").read_text())
    tokenizer_config = json.loads((hf_dir / "tokenizer_config.json").read_text())
    blocks, heads = config["num_hidden_layers"], config["num_attention_heads"]
    kv_heads = config.get("num_key_value_heads", heads)

    writer = gguf.GGUFWriter(str(out), "llama")
    writer.add_name("tiny-llama")
    writer.add_context_length(config["max_position_embeddings"])
    writer.add_embedding_length(config["hidden_size"])
    writer.add_block_count(blocks)
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_rope_dimension_count(config["hidden_size"] // heads)
    writer.add_rope_freq_base(float(config.get("rope_theta", 10000.0)))
    writer.add_layer_norm_rms_eps(float(config["rms_norm_eps"]))
    writer.add_vocab_size(config["vocab_size"])
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)

    tokens, types, merges = vocabulary(tokenizer)
    writer.add_tokenizer_model("gpt2")  # llama.cpp's name for a byte-level BPE
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    writer.add_bos_token_id(config["bos_token_id"])
    writer.add_eos_token_id(config["eos_token_id"])
    writer.add_pad_token_id(config["pad_token_id"])
    writer.add_add_bos_token(False)
    template = tokenizer_config.get("chat_template")
    if template is None and (hf_dir / "chat_template.jinja").exists():
        template = (hf_dir / "chat_template.jinja").read_text()
    if template:
        writer.add_chat_template(template)

    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, blocks)
    count = 0
    for hf_name, tensor in sorted(load_file(str(hf_dir / "model.safetensors")).items()):
        if hf_name.endswith("rotary_emb.inv_freq"):
            continue
        name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if name is None:
            raise SystemExit(f"no GGUF name for tensor {hf_name}")
        tensor = tensor.astype("float32")
        if hf_name.endswith("q_proj.weight"):
            tensor = permute(tensor, heads)
        elif hf_name.endswith("k_proj.weight"):
            tensor = permute(tensor, kv_heads)
        writer.add_tensor(name, tensor)
        count += 1

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return f"{count} tensors, vocabulary {len(tokens)}, {len(merges)} merges, written to {out}"


if __name__ == "__main__":
    print(convert(Path(sys.argv[1]), Path(sys.argv[2])))
