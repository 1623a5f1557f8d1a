"""The library: SQLAlchemy models, migrations, the Library facade, scanning."""
