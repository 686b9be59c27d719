"""Backends: the Provider interface, the registry, and one module per backend.

Nothing here imports a vendor SDK or engine at module level; each backend imports its
SDK inside the method that needs it, so `llm route` and `llm --help` stay fast.
"""
