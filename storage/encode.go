package storage

import (
	"encoding/json"
	"strconv"
	"time"

	"usersapi/internal/jsonenc"
	"usersapi/users"
)

// jwriter writes the JSON of records and snapshot lines byte for byte as json.Marshal
// would (a test checks it), without reflection: the journal line of a write is made under
// the store's write lock, so it must be quick. A time json.Marshal would refuse (a year
// outside 0..9999) makes ok false, and the caller uses json.Marshal for its error.
type jwriter struct {
	b  []byte
	ok bool
}

func (w *jwriter) raw(s string) { w.b = append(w.b, s...) }

func (w *jwriter) str(s string) { w.b = jsonenc.AppendString(w.b, s) }

func (w *jwriter) int(v int64) { w.b = strconv.AppendInt(w.b, v, 10) }

func (w *jwriter) time(t time.Time) {
	var ok bool
	if w.b, ok = jsonenc.AppendTime(w.b, t); !ok {
		w.ok = false
	}
}

func (w *jwriter) user(u *users.User) {
	w.raw(`{"id":`)
	w.int(u.ID)
	w.raw(`,"name":`)
	w.str(u.Name)
	w.raw(`,"username":`)
	w.str(u.Username)
	w.raw(`,"about":`)
	w.str(u.About)
	w.raw(`,"passwordHash":`)
	w.str(u.PasswordHash)
	if u.AccountKeyHash != "" {
		w.raw(`,"accountKeyHash":`)
		w.str(u.AccountKeyHash)
	}
	w.raw(`,"createdAt":`)
	w.time(u.CreatedAt)
	if len(u.Photos) > 0 {
		w.raw(`,"photos":[`)
		for i := range u.Photos {
			if i > 0 {
				w.raw(",")
			}
			w.photo(&u.Photos[i])
		}
		w.raw("]")
	}
	w.raw("}")
}

func (w *jwriter) photo(p *users.Photo) {
	w.raw(`{"id":`)
	w.str(p.ID)
	w.raw(`,"fileType":`)
	w.str(p.FileType)
	w.raw(`,"fileSize":`)
	w.int(p.FileSize)
	if p.PreviewWidth != 0 {
		w.raw(`,"previewWidth":`)
		w.int(int64(p.PreviewWidth))
	}
	if p.PreviewHeight != 0 {
		w.raw(`,"previewHeight":`)
		w.int(int64(p.PreviewHeight))
	}
	w.raw(`,"createdAt":`)
	w.time(p.CreatedAt)
	w.raw("}")
}

func (w *jwriter) session(s *users.Session) {
	w.raw(`{"id":`)
	w.str(s.ID)
	w.raw(`,"userId":`)
	w.int(s.UserID)
	w.raw(`,"tokenHash":`)
	w.str(s.TokenHash)
	w.raw(`,"ipAddress":`)
	w.str(s.IPAddress)
	w.raw(`,"createdAt":`)
	w.time(s.CreatedAt)
	w.raw(`,"updatedAt":`)
	w.time(s.UpdatedAt)
	w.raw(`,"deviceInfo":{"id":`)
	w.str(s.Device.ID)
	w.raw(`,"name":`)
	w.str(s.Device.Name)
	w.raw(`,"model":`)
	w.str(s.Device.Model)
	w.raw(`,"token":`)
	w.str(s.Device.Token)
	w.raw(`,"transport":`)
	w.str(s.Device.Transport)
	w.raw("}}")
}

func (w *jwriter) upload(up *users.Upload) {
	w.raw(`{"name":`)
	w.str(up.Name)
	w.raw(`,"type":`)
	w.str(up.Type)
	w.raw(`,"ownerId":`)
	w.int(up.OwnerID)
	w.raw(`,"size":`)
	w.int(up.Size)
	if up.PreviewWidth != 0 {
		w.raw(`,"previewWidth":`)
		w.int(int64(up.PreviewWidth))
	}
	if up.PreviewHeight != 0 {
		w.raw(`,"previewHeight":`)
		w.int(int64(up.PreviewHeight))
	}
	w.raw(`,"createdAt":`)
	w.time(up.CreatedAt)
	w.raw("}")
}

func (w *jwriter) optStr(sep *bool, key string, v *string) {
	if v == nil {
		return
	}
	w.key(sep, key)
	w.str(*v)
}

func (w *jwriter) key(sep *bool, key string) {
	if *sep {
		w.b = append(w.b, ',')
	}
	*sep = true
	w.b = append(w.b, '"')
	w.b = append(w.b, key...)
	w.b = append(w.b, '"', ':')
}

func (w *jwriter) record(r *record) {
	w.raw(`{"op":`)
	w.str(r.Op)
	sep := true
	if r.ID != 0 {
		w.key(&sep, "id")
		w.int(r.ID)
	}
	if r.Key != "" {
		w.key(&sep, "key")
		w.str(r.Key)
	}
	if r.Max != 0 {
		w.key(&sep, "max")
		w.int(int64(r.Max))
	}
	if r.User != nil {
		w.key(&sep, "user")
		w.user(r.User)
	}
	if r.Session != nil {
		w.key(&sep, "session")
		w.session(r.Session)
	}
	if r.Upload != nil {
		w.key(&sep, "upload")
		w.upload(r.Upload)
	}
	if r.Photo != nil {
		w.key(&sep, "photo")
		w.photo(r.Photo)
	}
	if ch := r.UserUpdate; ch != nil {
		w.key(&sep, "userUpdate")
		w.raw("{")
		in := false
		w.optStr(&in, "name", ch.Name)
		w.optStr(&in, "about", ch.About)
		w.optStr(&in, "passwordHash", ch.PasswordHash)
		w.optStr(&in, "accountKeyHash", ch.AccountKeyHash)
		if ch.IfPasswordHash != "" {
			w.optStr(&in, "ifPasswordHash", &ch.IfPasswordHash)
		}
		if ch.EndSessions {
			w.key(&in, "endSessions")
			w.raw("true")
		}
		if ch.KeepSession != "" {
			w.optStr(&in, "keepSession", &ch.KeepSession)
		}
		w.raw("}")
	}
	if ch := r.SessionUpdate; ch != nil {
		w.key(&sep, "sessionUpdate")
		w.raw("{")
		in := false
		if ch.UpdatedAt != nil {
			w.key(&in, "updatedAt")
			w.time(*ch.UpdatedAt)
		}
		w.optStr(&in, "deviceName", ch.DeviceName)
		w.optStr(&in, "deviceToken", ch.DeviceToken)
		w.raw("}")
	}
	w.raw("}")
}

// reset empties w for the next value, keeping its buffer.
func (w *jwriter) reset() {
	w.b, w.ok = w.b[:0], true
}

// appendRecordLine appends the journal line of r to dst, using w as scratch space (nil:
// a new one).
func appendRecordLine(dst []byte, r *record, w *jwriter) ([]byte, error) {
	if w == nil {
		w = new(jwriter)
	}
	w.reset()
	w.record(r)
	if !w.ok {
		payload, err := json.Marshal(r)
		if err != nil {
			return dst, err
		}
		return appendLine(dst, payload), nil
	}
	return appendLine(dst, w.b), nil
}

// appendSnapUserLine appends the snapshot line of one user and its sessions to dst.
func appendSnapUserLine(dst []byte, e *entry, w *jwriter) ([]byte, error) {
	w.reset()
	w.raw(`{"user":`)
	w.user(&e.user)
	if len(e.sessions) > 0 {
		w.raw(`,"sessions":[`)
		for i, s := range e.sessions {
			if i > 0 {
				w.raw(",")
			}
			w.session(s)
		}
		w.raw("]")
	}
	w.raw("}")
	if !w.ok {
		payload, err := json.Marshal(snapOut{User: &e.user, Sessions: e.sessions})
		if err != nil {
			return dst, err
		}
		return appendLine(dst, payload), nil
	}
	return appendLine(dst, w.b), nil
}

// appendSnapUploadLine appends the snapshot line of one upload record to dst.
func appendSnapUploadLine(dst []byte, up *users.Upload, w *jwriter) ([]byte, error) {
	w.reset()
	w.raw(`{"upload":`)
	w.upload(up)
	w.raw("}")
	if !w.ok {
		payload, err := json.Marshal(snapOut{Upload: up})
		if err != nil {
			return dst, err
		}
		return appendLine(dst, payload), nil
	}
	return appendLine(dst, w.b), nil
}
