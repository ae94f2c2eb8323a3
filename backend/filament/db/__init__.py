"""The database: tables and public shapes (`models`), sessions, migrations."""
