"""Unified interleaved generation: an image tokenizer, a causal LM that writes text steps and image
tokens in one trajectory, its warm-up on a hybrid mix, and the modality grammar it decodes under."""
