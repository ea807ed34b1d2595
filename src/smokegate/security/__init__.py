"""The security suite's own pieces: its config model and its pytest fixtures and parametrization."""
