"""Language-model backends behind one chat interface: local transformers, or any OpenAI-compatible server."""
