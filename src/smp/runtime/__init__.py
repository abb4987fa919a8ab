"""Where syncs run: the in-process scheduler of `smp serve`, and the Celery workers.

Both decide what is due with `smp.runtime.schedule`; the sync itself is `smp.sync`.
The running server's settings and state (`server_config`, `server_state`) are here
too: the API and the web both read them, and neither may import the other.
"""
