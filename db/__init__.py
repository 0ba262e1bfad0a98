"""The data layer: sqlite (one aiosqlite connection, the default) or PostgreSQL (an asyncpg pool,
with DATABASE_URL), numbered SQL migrations per engine, small repositories shared by both."""
