"""Text for text-to-image GANs: tokenisation (tokenizer.py)."""
