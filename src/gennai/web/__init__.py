"""The Japanese web interface: Jinja2 templates, static assets (docs/decisions/0016)."""
