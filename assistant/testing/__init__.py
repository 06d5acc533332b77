"""Test doubles that are product code: a local OpenAI-compatible server, fake models."""
