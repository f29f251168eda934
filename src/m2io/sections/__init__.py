"""Sections of a manual as answers use them: read whole from the index, and ranked for a question."""
