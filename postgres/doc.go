// Package postgres is a users.Store kept in PostgreSQL, for running several servers
// on one database. It passes the same contract as the stores of package storage
// (storage/storagetest), and docs/storage.md describes its schema, its transactions
// and the settings the database needs for durability.
//
// It lives in a module of its own, usersapi/postgres, because it needs a driver
// (pgx), and the core module uses the standard library only. It imports users and
// pgx; its tests also import storage/storagetest, internal/seed and pgtest.
package postgres
