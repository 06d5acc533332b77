"""Text seams: the lexical tokenizer and language helpers."""
