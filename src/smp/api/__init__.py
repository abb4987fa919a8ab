"""REST API (FastAPI) under `/api/v1`: bearer tokens, problem details, pagination.

`smp.api.app.build_app(engine, box, context, *, scheduler=True, config=None)`
returns the API-only app; `smp.server.create_app` adds the web UI beside it.
Nothing is imported here, so importing a submodule does not load FastAPI.
"""
