"""A SendGrid v3 simulator, faithful to the official OpenAPI specs.

It imports nothing else from smp, so it cannot share a mistake with the client.
"""
