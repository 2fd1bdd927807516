package storage

import (
	"encoding/json"
	"reflect"
	"runtime/debug"
	"testing"
	"time"

	"usersapi/users"
)

// The fast decoder must give exactly what encoding/json gives, or give up.

var fastSamples = []string{
	`{"op":"createUser","user":{"id":3,"name":"Zoë Ünïcode","username":"zoe12","about":"","passwordHash":"p$1$a$b","createdAt":"2026-11-25T16:11:45Z"},"session":{"id":"s","userId":3,"tokenHash":"t","ipAddress":"::1","createdAt":"2026-11-25T16:11:45Z","updatedAt":"2026-11-25T16:11:45.123456789Z","deviceInfo":{"id":"d","name":"n","model":"m","token":"","transport":"none"}}}`,
	`{"op":"updateUser","id":7,"userUpdate":{"name":"A","about":"","passwordHash":"h","accountKeyHash":"k","ifPasswordHash":"o","endSessions":true,"keepSession":"s"}}`,
	`{"op":"updateUser","id":7,"userUpdate":{"endSessions":false}}`,
	`{"op":"updateSession","key":"abc","sessionUpdate":{"updatedAt":"2026-02-28T23:59:59Z","deviceName":"x","deviceToken":"y"}}`,
	`{"op":"putUpload","upload":{"name":"n","type":"png","ownerId":1,"size":-5,"previewWidth":350,"previewHeight":1,"createdAt":"2026-11-25T16:11:45+02:00"}}`,
	`{"op":"addPhoto","id":1,"max":10,"photo":{"id":"p","fileType":"png","fileSize":12,"previewWidth":3,"previewHeight":4,"createdAt":"2026-11-25T16:11:45Z"}}`,
	`{"op":"deletePhoto","id":1,"key":"p"}`,
	` { "op" : "deleteUser" , "id" : 1 } `,
	`{"op":"createUser","user":{"id":1,"name":"a\"b","photos":[{"id":"x"},{"id":"y"}]}}`,
	`{"op":"createUser","user":{"id":1,"name":"a\u003cb","photos":[]}}`,
	`{"op":"createUser","user":{"id":1,"Name":"case"}}`,
	`{"op":"createUser","user":{"id":1,"name":null}}`,
	`{"op":"deleteUser","id":1.0}`,
	`{"op":"deleteUser","id":01}`,
	`{"op":"deleteUser","id":1e3}`,
	`{"op":"deleteUser","id":99999999999999999999}`,
	`{"op":"deleteUser","id":-3}`,
	`{"op":"deleteUser","id":1}x`,
	`{"op":"deleteUser","id":1,}`,
	`{"op":"deleteUser" "id":1}`,
	`{"op":"de` + "\xff" + `"}`,
	`{"op":"updateSession","key":"k","sessionUpdate":{"updatedAt":"2026-02-30T00:00:00Z"}}`,
	`{"op":"updateSession","key":"k","sessionUpdate":{"updatedAt":"2026-13-01T00:00:00Z"}}`,
	`{"op":"updateSession","key":"k","sessionUpdate":{"updatedAt":"2026-01-01T24:00:00Z"}}`,
	`{"op":"updateSession","key":"k","sessionUpdate":{"updatedAt":"0000-01-01T00:00:00Z"}}`,
	`{"op":"updateUser","id":1,"userUpdate":{"endSessions":tru}}`,
	`{"op":"x","extra":1}`,
	`[]`,
	``,
	`{`,
}

func TestFastRecordMatchesEncodingJSON(t *testing.T) {
	for _, s := range fastSamples {
		checkFastRecord(t, []byte(s))
	}
}

func checkFastRecord(t *testing.T, b []byte) {
	var r jreader
	var fast, slow record
	if !r.record(b, &fast) {
		return
	}
	if err := unmarshalStrict(b, &slow); err != nil {
		t.Errorf("%s: the fast decoder accepted what encoding/json refuses: %v", b, err)
		return
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Errorf("%s:\nfast %+v\nslow %+v", b, fast, slow)
	}
}

func TestFastSnapLineMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{
		`{"user":{"id":3,"name":"Zoë","username":"zoe12","about":"hi","passwordHash":"p","accountKeyHash":"k","createdAt":"2026-11-25T16:11:45Z","photos":[{"id":"a","fileType":"png","fileSize":1,"createdAt":"2026-11-25T16:11:45Z"}]},"sessions":[{"id":"s1","userId":3},{"id":"s2","userId":3,"deviceInfo":{"id":"d"}}]}`,
		`{"upload":{"name":"n","type":"png","ownerId":1,"size":5,"createdAt":"2026-11-25T16:11:45Z"}}`,
		`{"user":{"id":3},"sessions":[]}`,
		`{"snapshot":{"format":"x"}}`,
	} {
		var r jreader
		var fast, slow snapIn
		if !r.snapLine([]byte(s), &fast) {
			continue
		}
		if err := json.Unmarshal([]byte(s), &slow); err != nil {
			t.Errorf("%s: the fast decoder accepted what encoding/json refuses: %v", s, err)
			continue
		}
		var fu users.User
		if fast.e != nil {
			fu = fast.e.user
		}
		if slow.User == nil || !reflect.DeepEqual(fu, *slow.User) || !reflect.DeepEqual(fast.Sessions, slow.Sessions) && len(slow.Sessions) > 0 {
			if slow.Upload == nil || !reflect.DeepEqual(*fast.Upload, *slow.Upload) {
				t.Errorf("%s:\nfast %+v %+v %+v\nslow %+v", s, fast.e, fast.Sessions, fast.Upload, slow)
			}
		}
	}
}

// FuzzFastRecord checks on any input that the fast decoder never accepts what
// encoding/json would decode differently or refuse.
func FuzzFastRecord(f *testing.F) {
	for _, s := range fastSamples {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkFastRecord(t, b) })
}

func TestFastTimeMatches(t *testing.T) {
	for _, s := range []string{"2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z", "1999-12-31T23:59:59Z", "9999-12-31T23:59:59Z"} {
		var r jreader
		r.reset([]byte(`"` + s + `"`))
		var fast, slow time.Time
		r.time(&fast)
		serr := slow.UnmarshalJSON([]byte(`"` + s + `"`))
		if r.bad != (serr != nil) || !reflect.DeepEqual(fast, slow) {
			t.Errorf("%s: fast %v (bad %v), slow %v (%v)", s, fast, r.bad, slow, serr)
		}
	}
}

// TestPauseGCNests: loads running at once restore the collector's settings once, at the
// end of the last.
func TestPauseGCNests(t *testing.T) {
	before := debug.SetGCPercent(-1)
	debug.SetGCPercent(before)
	a := pauseGC(1 << 40)
	b := pauseGC(1 << 40)
	a()
	if p := debug.SetGCPercent(-1); p != -1 {
		t.Errorf("after the first of two loads ended, GC percent is %d, want still off", p)
	}
	b()
	if p := debug.SetGCPercent(before); p != before {
		t.Errorf("after both loads ended, GC percent is %d, want %d", p, before)
	}
}
