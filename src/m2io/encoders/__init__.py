"""Text and image encoders: all vectors are float32 and L2-normalised."""
