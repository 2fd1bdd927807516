package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"usersapi/users"
)

// BenchmarkReplayJournal measures how fast OpenFile replays a journal: 500,000 profile
// and session updates on 10,000 users, the kind of records a busy day leaves. It bounds
// the open time of a store whose journal is about to be compacted (docs/storage.md).
func BenchmarkReplayJournal(b *testing.B) {
	const nUsers, nRecords = 10_000, 500_000
	var lines []byte
	for i := 1; i <= nUsers; i++ {
		name := fmt.Sprintf("user%06d", i)
		r := &record{Op: opCreateUser,
			User:    &users.User{ID: int64(i), Name: "Name " + name, Username: name, PasswordHash: "pbkdf2-sha256$600000$c2FsdA$aGFzaA", CreatedAt: time.Now()},
			Session: &users.Session{ID: "s-" + name, UserID: int64(i), TokenHash: "t-" + name, CreatedAt: time.Now(), UpdatedAt: time.Now(), Device: users.DeviceInfo{ID: "d-" + name, Transport: "none"}}}
		lines, _ = appendJSONLine(lines, r)
	}
	for i := range nRecords {
		id := int64(1 + i%nUsers)
		var r *record
		if i%2 == 0 {
			about := fmt.Sprintf("about %d", i)
			r = &record{Op: opUpdateUser, ID: id, UserUpdate: &userUpdate{About: &about}}
		} else {
			at := time.Now()
			r = &record{Op: opUpdateSession, Key: fmt.Sprintf("s-user%06d", id), SessionUpdate: &sessionUpdate{UpdatedAt: &at}}
		}
		lines, _ = appendJSONLine(lines, r)
	}
	path := filepath.Join(b.TempDir(), journalName(1))
	if err := os.WriteFile(path, lines, 0o600); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(lines)))
	for b.Loop() {
		if _, err := replayJournal(path, newState(), true); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(nUsers+nRecords)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
