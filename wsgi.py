"""WSGI entry point: ``gunicorn wsgi:app``."""
from hpsmart import create_app

app = create_app()
