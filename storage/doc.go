// Package storage implements users.Store twice: Memory keeps everything in RAM, File
// keeps it durably in a data folder as a JSON-lines journal and snapshot (R-STO-1..5,
// docs/storage.md). Both share one in-memory core, so they behave the same; package
// storagetest holds the contract both pass.
//
// Reading order. The design is in four files:
//   - state.go: the data set, and the records (one per mutation) that change it; the
//     same records in the same order always give the same state;
//   - journal.go: the append-only file of records, written in batches and synced before
//     a write is acknowledged (db.go is the path from a Store call to it, file.go opens,
//     replays and compacts the folder);
//   - snapshot.go: the whole state as of the start of one journal, written at compaction;
//   - the lock in file.go: one process per data folder.
//
// The rest is speed: fastjson.go decodes the lines without reflection and lines.go scans
// a file on every CPU (both for the load time of a million users), encode.go writes the
// journal and snapshot lines without reflection (it is what makes compaction quick), and
// search.go keeps the search index. Each falls back to, or is tested equal to,
// encoding/json and the plain way.
//
// It imports users and the standard library only, never httpapi, auth or cmd.
package storage
