"""The sandbox: a local, Pipedrive-compatible HTTP server with realistic demo data.

It is a product component (``pipedrive-explorer --demo`` talks to it) and what every test and
benchmark talks to. ``create_app`` builds the Starlette ASGI app; ``Store`` holds the data.
"""
