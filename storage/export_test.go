package storage

// Syncs returns how many batches the journal of f has written and synced so far.
func Syncs(f *File) int64 { return f.j.syncs.Load() }
