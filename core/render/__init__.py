"""The renderer; torch/diffusers are imported lazily inside its modules."""
