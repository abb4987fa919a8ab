"""Server-rendered web UI: `smp.web.app.install_web(app)` adds it to a server app."""
