"""Persistence: SQLAlchemy 2 async models, the engine, migrations and the unit of work."""
