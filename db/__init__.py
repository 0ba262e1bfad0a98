"""The data layer: one aiosqlite connection, numbered SQL migrations, small repositories."""
