"""Training: the image adapter now; the inserter's SFT and GRPO later."""
