"""Answer generation from retrieved chunks: extractive now; the LLM generator comes with the pipeline."""
