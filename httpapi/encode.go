package httpapi

// This file writes the API's user objects as JSON without encoding/json, for speed
// alone: it must produce exactly the bytes json.Marshal produces.
//
// Why it exists: GET /users/me for a user with 3 sessions and 3 photos reached only
// 0.76x the throughput of a bare net/http server answering a body of the same size,
// against a target of 0.8x (docs/performance.md, "Load tool" and "Hot paths"). The
// CPU profile put encoding/json at 9% of all CPU, a third of it on the eleven
// time.Time values of that answer: encoding/json calls their MarshalJSON and then
// reads its output again to check and compact it. json.Marshal took 5.1 µs and 13
// allocations for that answer; the functions below take about 1 µs and none.
//
// The price is that the JSON of UserInfo, DeviceSession, DeviceInfo and MediaInfo is
// now written twice: by their struct tags for encoding/json, and by hand here.
// encode_test.go proves that the two agree, byte for byte: on a table of edge cases,
// on random values (FuzzEncodeUserInfo), and on the list of fields and tags of each
// type, so that a field added to one of them fails a test until it is added here.
//
// What "the same bytes" means, rule by rule (encoding/json's rules for these types):
//   - keys in the order of the struct fields, with no spaces;
//   - omitempty: lastSeen when nil, deviceSessions when empty, accessToken when "",
//     previewWidth and previewHeight when 0; photos has no omitempty, so a nil slice
//     is null and an empty one is [];
//   - strings escaped as jsonenc.AppendString explains (shared with the store's journal);
//   - times as time.Time's MarshalJSON writes them: RFC 3339 with the nanoseconds
//     only when they are not zero. A time that RFC 3339 cannot hold makes
//     MarshalJSON fail; then these functions report false, and writeJSON falls back
//     to json.Marshal, which fails with the error that explains it.

import (
	"strconv"
	"sync"

	"usersapi/internal/jsonenc"
	"usersapi/users"
)

// answerBuffers keeps the buffers of writeJSON between requests, so that an answer
// usually costs no allocation. Buffers over maxPooledAnswer are left to the garbage
// collector rather than kept, so that one huge answer does not pin its memory.
var answerBuffers = sync.Pool{
	New: func() any {
		b := make([]byte, 0, 2048)
		return &b
	},
}

const maxPooledAnswer = 64 << 10

// appendUserInfos appends the JSON array of us to b: null for a nil slice, as
// json.Marshal writes it. It reports false if a time cannot be encoded.
func appendUserInfos(b []byte, us []users.UserInfo) ([]byte, bool) {
	if us == nil {
		return append(b, "null"...), true
	}
	b = append(b, '[')
	for i := range us {
		if i > 0 {
			b = append(b, ',')
		}
		var ok bool
		if b, ok = appendUserInfo(b, &us[i]); !ok {
			return b, false
		}
	}
	return append(b, ']'), true
}

// appendUserInfo appends the JSON object of u to b (R-OBJ-1). It reports false if a
// time cannot be encoded.
func appendUserInfo(b []byte, u *users.UserInfo) ([]byte, bool) {
	var ok bool
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, u.ID, 10)
	b = append(b, `,"name":`...)
	b = jsonenc.AppendString(b, u.Name)
	b = append(b, `,"username":`...)
	b = jsonenc.AppendString(b, u.Username)
	b = append(b, `,"about":`...)
	b = jsonenc.AppendString(b, u.About)
	if u.LastSeen != nil {
		b = append(b, `,"lastSeen":`...)
		if b, ok = jsonenc.AppendTime(b, *u.LastSeen); !ok {
			return b, false
		}
	}
	b = append(b, `,"createdAt":`...)
	if b, ok = jsonenc.AppendTime(b, u.CreatedAt); !ok {
		return b, false
	}

	b = append(b, `,"photos":`...)
	if u.Photos == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range u.Photos {
			if i > 0 {
				b = append(b, ',')
			}
			if b, ok = appendMediaInfo(b, &u.Photos[i]); !ok {
				return b, false
			}
		}
		b = append(b, ']')
	}

	if len(u.DeviceSessions) > 0 {
		b = append(b, `,"deviceSessions":[`...)
		for i := range u.DeviceSessions {
			if i > 0 {
				b = append(b, ',')
			}
			if b, ok = appendDeviceSession(b, &u.DeviceSessions[i]); !ok {
				return b, false
			}
		}
		b = append(b, ']')
	}
	return append(b, '}'), true
}

// appendDeviceSession appends the JSON object of s to b (R-OBJ-4). It reports false
// if a time cannot be encoded.
func appendDeviceSession(b []byte, s *users.DeviceSession) ([]byte, bool) {
	var ok bool
	b = append(b, `{"id":`...)
	b = jsonenc.AppendString(b, s.ID)
	if s.AccessToken != "" {
		b = append(b, `,"accessToken":`...)
		b = jsonenc.AppendString(b, s.AccessToken)
	}
	b = append(b, `,"ipAddress":`...)
	b = jsonenc.AppendString(b, s.IPAddress)
	b = append(b, `,"createdAt":`...)
	if b, ok = jsonenc.AppendTime(b, s.CreatedAt); !ok {
		return b, false
	}
	b = append(b, `,"updatedAt":`...)
	if b, ok = jsonenc.AppendTime(b, s.UpdatedAt); !ok {
		return b, false
	}
	b = append(b, `,"deviceInfo":{"id":`...)
	b = jsonenc.AppendString(b, s.DeviceInfo.ID)
	b = append(b, `,"name":`...)
	b = jsonenc.AppendString(b, s.DeviceInfo.Name)
	b = append(b, `,"model":`...)
	b = jsonenc.AppendString(b, s.DeviceInfo.Model)
	b = append(b, `,"token":`...)
	b = jsonenc.AppendString(b, s.DeviceInfo.Token)
	b = append(b, `,"transport":`...)
	b = jsonenc.AppendString(b, s.DeviceInfo.Transport)
	return append(b, "}}"...), true
}

// appendMediaInfo appends the JSON object of m to b (R-OBJ-6). It reports false if
// its time cannot be encoded.
func appendMediaInfo(b []byte, m *users.MediaInfo) ([]byte, bool) {
	var ok bool
	b = append(b, `{"id":`...)
	b = jsonenc.AppendString(b, m.ID)
	b = append(b, `,"fileType":`...)
	b = jsonenc.AppendString(b, m.FileType)
	b = append(b, `,"fileSize":`...)
	b = strconv.AppendInt(b, m.FileSize, 10)
	if m.PreviewWidth != 0 {
		b = append(b, `,"previewWidth":`...)
		b = strconv.AppendInt(b, int64(m.PreviewWidth), 10)
	}
	if m.PreviewHeight != 0 {
		b = append(b, `,"previewHeight":`...)
		b = strconv.AppendInt(b, int64(m.PreviewHeight), 10)
	}
	b = append(b, `,"createdAt":`...)
	if b, ok = jsonenc.AppendTime(b, m.CreatedAt); !ok {
		return b, false
	}
	return append(b, '}'), true
}
