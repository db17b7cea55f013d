-- SQLite's usage_daily drops its rowid here (0021 .sqlite.sql); a
-- PostgreSQL table has none to drop. The version is kept the same on both.
SELECT 1;
