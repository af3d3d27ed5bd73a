"""The REST API (v1) at /api/v1: a business's own tools read and change its data with an
API key, through the same domain verbs as the pages. `spec.py` registers it on the app."""
