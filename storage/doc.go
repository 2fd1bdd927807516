// Package storage implements users.Store twice: Memory keeps everything in RAM, File
// keeps it durably in a data folder as a JSON-lines journal and snapshot (R-STO-1..5,
// docs/storage.md). Both share one in-memory core, so they behave the same; package
// storagetest holds the contract both pass.
//
// Reading order. The design is in these files, to be read in this order:
//   - state.go: the data set, and the records (one per mutation) that change it; the
//     same records in the same order always give the same state;
//   - db.go: the path of every Store call: a write applies its record, hands it to the
//     durability interface (File's journal; Memory has none) and waits for the sync; a
//     read waits until what it shows is durable (durable before visible);
//   - journal.go: the append-only file of records, written in batches and synced before
//     a write is acknowledged;
//   - file.go: opening a data folder, replaying it, compacting it, and going back to
//     what is on disk when a journal write fails (goBack);
//   - snapshot.go: the whole state as of the start of one journal, written at compaction;
//   - lines.go: one line of either file (encoding/json and a checksum), reading them
//     back, and what counts as a torn tail;
//   - lock_unix.go (lock_other.go elsewhere): one process per data folder.
//
// The rest is speed, each part tested equal to the plain way: fastjson.go decodes the
// lines without reflection and lines.go and snapshot.go scan a file on every CPU (both
// for the load time of a million users), encode.go writes snapshot lines without
// reflection (it makes compaction about four times quicker), and search.go keeps the
// search index.
//
// It imports users and the standard library only, never httpapi, auth or cmd.
package storage
