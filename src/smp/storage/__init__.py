"""Storage: SQLAlchemy 2 tables, Alembic migrations, repositories, secrets at rest."""
