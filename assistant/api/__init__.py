"""The HTTP adapter: one FastAPI app for programs (JSON API), OpenAI clients and the web page."""
