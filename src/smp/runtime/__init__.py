"""Where syncs run: the in-process scheduler of `smp serve`, and the Celery workers.

Both decide what is due with `smp.runtime.schedule`; the sync itself is `smp.sync`.
"""
