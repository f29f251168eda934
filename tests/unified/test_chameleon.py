"""transformers' Chameleon (a tiny one built from a config) through the unified interface: its VQ
reads images into its own image tokens, the grammar keeps generation legal, undecodable images are
reported, not crashed on."""
import pytest
import torch

from m2io.unified.answer import UnifiedAnswerer, UnifiedConfig
from m2io.unified.chameleon import ChameleonCodec, chameleon_unified
from m2io.unified.tokenizer import TokenizerError


def _name(code: int) -> str:  # Chameleon's image token names: digits written as letters A-J
    return "IMGIMG" + "".join(chr(ord("A") + int(d)) for d in str(code)) + "Z"


@pytest.fixture(scope="module")
def tiny_chameleon(smollm2_dir):
    from transformers import AutoTokenizer, ChameleonConfig, ChameleonForConditionalGeneration

    tokenizer = AutoTokenizer.from_pretrained(str(smollm2_dir))
    names = [_name(k) for k in range(16)]
    tokenizer.add_special_tokens({"additional_special_tokens": ["<image>", "<racm3:break>", "<eoss>", *names]})
    vocabulary_map = {t: tokenizer.convert_tokens_to_ids(t) for t in ["<image>", *names]}
    vq = dict(embed_dim=4, num_embeddings=16, latent_channels=4, resolution=32, base_channels=32,
              channel_multiplier=[1, 1, 1], num_res_blocks=1, attn_resolutions=[])
    config = ChameleonConfig(vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                             num_attention_heads=2, num_key_value_heads=2, vq_config=vq, vocabulary_map=vocabulary_map,
                             eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.eos_token_id)
    torch.manual_seed(0)
    return ChameleonForConditionalGeneration(config).eval(), tokenizer


def test_codec_reads_images_into_codes(tiny_chameleon):
    model, _ = tiny_chameleon
    codec = ChameleonCodec(model)
    codes = codec.encode(torch.rand(2, 3, 32, 32))
    assert codec.tokens_per_image == 64 and codes.shape == (2, 64)
    assert 0 <= int(codes.min()) and int(codes.max()) < 16
    with pytest.raises(TokenizerError, match="no VQ decoder"):
        codec.decode(codes)


def test_generation_under_the_grammar_and_undecodable_images(tiny_chameleon):
    model, tokenizer = tiny_chameleon
    unified = chameleon_unified(model, tokenizer)
    v = unified.vocab
    assert v.image_ids == [tokenizer.convert_tokens_to_ids(_name(k)) for k in range(16)]

    prompt_len = len(unified.prompt_ids("Draw"))
    original = unified.lm.generate

    def generate(**kw):  # open an image first, then end: the grammar fills the span
        class Steer:
            def __call__(self, input_ids, scores):
                n = input_ids.shape[1] - prompt_len
                scores[:, v.vis if n == 0 else v.end_ids[0]] = 1e4
                return scores
        kw["logits_processor"].insert(0, Steer())
        return original(**kw)

    unified.lm.generate = generate
    answer = UnifiedAnswerer(unified, None, UnifiedConfig(max_new_tokens=70, lookup=None)).ask("Draw")
    images = [s for s in answer.steps if s.kind == "image"]
    assert len(images) == 1 and len(images[0].codes) == 64 and images[0].png == b""
    assert any("not decoded" in d for d in answer.damage) and not answer.well_formed
