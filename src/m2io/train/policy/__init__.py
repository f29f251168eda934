"""Training the r1 placement policy: examples, advantages, cold start and GRPO."""
