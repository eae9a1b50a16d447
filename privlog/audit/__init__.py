"""The read-only auditor side: API, dashboard, tokens and the access log.

``privlog audit serve`` runs :func:`privlog.audit.app.create_app`; it needs the
``fastapi`` extra (and ``uvicorn`` to serve).
"""
