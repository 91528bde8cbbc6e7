"""SQLAlchemy persistence: schema, imperative mapping, repositories, migrations."""
