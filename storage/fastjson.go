package storage

import (
	"strings"
	"time"
	"unicode/utf8"

	"usersapi/users"
)

// jreader decodes the JSON lines the store writes without reflection, several times
// faster than encoding/json, which matters when a million users are loaded at start. It
// handles exactly the shapes the store writes and gives up (bad = true) on anything
// else: an escape in a string, a null, a float, a key it does not know (encoding/json
// matches keys without regard to case). The caller then decodes the line again with
// encoding/json, so the result is always what encoding/json would give.
//
// All strings of one object are copied into one allocation, which keeps the number of
// objects (and so the garbage collector's work) small.
type jreader struct {
	b   []byte
	i   int
	bad bool

	strs []byte
	refs []strRef
}

type strRef struct {
	dst    *string
	off, n int
}

func (r *jreader) reset(b []byte) {
	r.b, r.i, r.bad = b, 0, false
	r.strs, r.refs = r.strs[:0], r.refs[:0]
}

// flush sets the strings read since the last flush, from one new allocation. The
// destinations must not have moved since they were read.
func (r *jreader) flush() {
	if len(r.refs) == 0 {
		return
	}
	all := string(r.strs)
	for _, ref := range r.refs {
		*ref.dst = all[ref.off : ref.off+ref.n]
	}
	r.strs, r.refs = r.strs[:0], r.refs[:0]
}

func (r *jreader) ws() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\r', '\n':
			r.i++
		default:
			return
		}
	}
}

func (r *jreader) eat(c byte) bool {
	r.ws()
	if r.i < len(r.b) && r.b[r.i] == c {
		r.i++
		return true
	}
	return false
}

// end reports whether the whole input was read.
func (r *jreader) end() bool {
	r.ws()
	return !r.bad && r.i == len(r.b)
}

// raw reads a string without escapes and returns its bytes, valid until the input changes.
func (r *jreader) raw() []byte {
	if !r.eat('"') {
		r.bad = true
		return nil
	}
	start, high := r.i, false
	for r.i < len(r.b) {
		c := r.b[r.i]
		if c == '"' {
			s := r.b[start:r.i]
			r.i++
			if high && !utf8.Valid(s) {
				r.bad = true
			}
			return s
		}
		if c == '\\' || c < 0x20 {
			break
		}
		high = high || c >= utf8.RuneSelf
		r.i++
	}
	r.bad = true
	return nil
}

// str reads a string into *dst, set by the next flush.
func (r *jreader) str(dst *string) {
	s := r.raw()
	if r.bad {
		return
	}
	r.refs = append(r.refs, strRef{dst, len(r.strs), len(s)})
	r.strs = append(r.strs, s...)
}

// strPtr reads a string into a new *string.
func (r *jreader) strPtr(dst **string) {
	p := new(string)
	r.str(p)
	*dst = p
}

func (r *jreader) int64() int64 {
	r.ws()
	neg := false
	if r.i < len(r.b) && r.b[r.i] == '-' {
		neg = true
		r.i++
	}
	start := r.i
	var v uint64
	for r.i < len(r.b) && '0' <= r.b[r.i] && r.b[r.i] <= '9' {
		v = v*10 + uint64(r.b[r.i]-'0')
		r.i++
	}
	n := r.i - start
	if n == 0 || n > 18 || (n > 1 && r.b[start] == '0') {
		r.bad = true // no digits, a leading zero, or too long for this fast path
		return 0
	}
	if r.i < len(r.b) {
		if c := r.b[r.i]; c == '.' || c == 'e' || c == 'E' {
			r.bad = true
			return 0
		}
	}
	if neg {
		return -int64(v)
	}
	return int64(v)
}

func (r *jreader) int() int { return int(r.int64()) }

func (r *jreader) bool() bool {
	r.ws()
	if strings.HasPrefix(string(r.b[r.i:min(r.i+5, len(r.b))]), "true") {
		r.i += 4
		return true
	}
	if strings.HasPrefix(string(r.b[r.i:min(r.i+5, len(r.b))]), "false") {
		r.i += 5
		return false
	}
	r.bad = true
	return false
}

// time reads an RFC 3339 time. The usual "2006-01-02T15:04:05Z" is parsed here, any
// other form by time.Time.UnmarshalJSON.
func (r *jreader) time(dst *time.Time) {
	r.ws()
	start := r.i
	s := r.raw()
	if r.bad {
		return
	}
	if len(s) == 20 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' && s[19] == 'Z' {
		num := func(a, b int) int {
			v := 0
			for _, c := range s[a:b] {
				if c < '0' || c > '9' {
					return -1
				}
				v = v*10 + int(c-'0')
			}
			return v
		}
		y, mo, d, h, mi, sec := num(0, 4), num(5, 7), num(8, 10), num(11, 13), num(14, 16), num(17, 19)
		if y >= 0 && mo >= 1 && mo <= 12 && d >= 1 && h >= 0 && h < 24 && mi >= 0 && mi < 60 && sec >= 0 && sec < 60 {
			t := time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC)
			if t.Day() == d {
				*dst = t
				return
			}
		}
	}
	if err := dst.UnmarshalJSON(r.b[start:r.i]); err != nil {
		r.bad = true
	}
}

// more advances to the next key of an object, or past its end. first starts true.
func (r *jreader) more(first *bool) bool {
	if r.bad {
		return false
	}
	if r.eat('}') {
		return false
	}
	if !*first && !r.eat(',') {
		r.bad = true
		return false
	}
	*first = false
	return true
}

// key reads an object key and the colon after it.
func (r *jreader) key() []byte {
	k := r.raw()
	if !r.eat(':') {
		r.bad = true
	}
	return k
}

// array calls elem for each element of an array.
func (r *jreader) array(elem func()) {
	if !r.eat('[') {
		r.bad = true
		return
	}
	if r.eat(']') {
		return
	}
	for !r.bad {
		elem()
		if r.eat(',') {
			continue
		}
		if !r.eat(']') {
			r.bad = true
		}
		return
	}
}

func (r *jreader) object() bool {
	if !r.eat('{') {
		r.bad = true
		return false
	}
	return true
}

func (r *jreader) user(u *users.User) {
	if !r.object() {
		return
	}
	for first := true; r.more(&first); {
		switch string(r.key()) {
		case "id":
			u.ID = r.int64()
		case "name":
			r.str(&u.Name)
		case "username":
			r.str(&u.Username)
		case "about":
			r.str(&u.About)
		case "passwordHash":
			r.str(&u.PasswordHash)
		case "accountKeyHash":
			r.str(&u.AccountKeyHash)
		case "createdAt":
			r.time(&u.CreatedAt)
		case "photos":
			r.flush()
			u.Photos = []users.Photo{} // as encoding/json: [] is empty, not nil
			r.array(func() {
				var p users.Photo
				r.photo(&p)
				r.flush()
				u.Photos = append(u.Photos, p)
			})
		default:
			r.bad = true
		}
	}
	r.flush()
}

func (r *jreader) photo(p *users.Photo) {
	if !r.object() {
		return
	}
	for first := true; r.more(&first); {
		switch string(r.key()) {
		case "id":
			r.str(&p.ID)
		case "fileType":
			r.str(&p.FileType)
		case "fileSize":
			p.FileSize = r.int64()
		case "previewWidth":
			p.PreviewWidth = r.int()
		case "previewHeight":
			p.PreviewHeight = r.int()
		case "createdAt":
			r.time(&p.CreatedAt)
		default:
			r.bad = true
		}
	}
}

func (r *jreader) session(s *users.Session) {
	if !r.object() {
		return
	}
	for first := true; r.more(&first); {
		switch string(r.key()) {
		case "id":
			r.str(&s.ID)
		case "userId":
			s.UserID = r.int64()
		case "tokenHash":
			r.str(&s.TokenHash)
		case "ipAddress":
			r.str(&s.IPAddress)
		case "createdAt":
			r.time(&s.CreatedAt)
		case "updatedAt":
			r.time(&s.UpdatedAt)
		case "deviceInfo":
			r.device(&s.Device)
		default:
			r.bad = true
		}
	}
}

func (r *jreader) device(d *users.DeviceInfo) {
	if !r.object() {
		return
	}
	for first := true; r.more(&first); {
		switch string(r.key()) {
		case "id":
			r.str(&d.ID)
		case "name":
			r.str(&d.Name)
		case "model":
			r.str(&d.Model)
		case "token":
			r.str(&d.Token)
		case "transport":
			r.str(&d.Transport)
		default:
			r.bad = true
		}
	}
}

func (r *jreader) upload(up *users.Upload) {
	if !r.object() {
		return
	}
	for first := true; r.more(&first); {
		switch string(r.key()) {
		case "name":
			r.str(&up.Name)
		case "type":
			r.str(&up.Type)
		case "ownerId":
			up.OwnerID = r.int64()
		case "size":
			up.Size = r.int64()
		case "previewWidth":
			up.PreviewWidth = r.int()
		case "previewHeight":
			up.PreviewHeight = r.int()
		case "createdAt":
			r.time(&up.CreatedAt)
		default:
			r.bad = true
		}
	}
	r.flush()
}

// sessions reads an array of sessions, each decoded in its place in the slice (no
// temporary copy on the heap) and its strings set before the slice can move.
func (r *jreader) sessions() []users.Session {
	r.flush()
	out := []users.Session{}
	r.array(func() {
		out = append(out, users.Session{})
		r.session(&out[len(out)-1])
		r.flush()
	})
	return out
}

// snapLine decodes a user or upload line of a snapshot; the header goes to encoding/json.
func (r *jreader) snapLine(payload []byte, v *snapIn) bool {
	r.reset(payload)
	if !r.object() {
		return false
	}
	for first := true; r.more(&first); {
		switch string(r.key()) {
		case "user":
			v.e = new(entry)
			r.user(&v.e.user)
		case "sessions":
			v.Sessions = r.sessions()
		case "upload":
			v.Upload = new(users.Upload)
			r.upload(v.Upload)
		default:
			r.bad = true
		}
	}
	return r.end()
}

// record decodes a journal record.
func (r *jreader) record(payload []byte, rec *record) bool {
	r.reset(payload)
	if !r.object() {
		return false
	}
	for first := true; r.more(&first); {
		switch string(r.key()) {
		case "op":
			r.str(&rec.Op)
		case "id":
			rec.ID = r.int64()
		case "key":
			r.str(&rec.Key)
		case "max":
			rec.Max = r.int()
		case "user":
			rec.User = new(users.User)
			r.user(rec.User)
		case "session":
			rec.Session = new(users.Session)
			r.session(rec.Session)
		case "upload":
			rec.Upload = new(users.Upload)
			r.upload(rec.Upload)
		case "photo":
			rec.Photo = new(users.Photo)
			r.photo(rec.Photo)
		case "userUpdate":
			rec.UserUpdate = new(userUpdate)
			r.userUpdate(rec.UserUpdate)
		case "sessionUpdate":
			rec.SessionUpdate = new(sessionUpdate)
			r.sessionUpdate(rec.SessionUpdate)
		default:
			r.bad = true
		}
	}
	r.flush()
	return r.end()
}

func (r *jreader) userUpdate(ch *userUpdate) {
	if !r.object() {
		return
	}
	for first := true; r.more(&first); {
		switch string(r.key()) {
		case "name":
			r.strPtr(&ch.Name)
		case "about":
			r.strPtr(&ch.About)
		case "passwordHash":
			r.strPtr(&ch.PasswordHash)
		case "accountKeyHash":
			r.strPtr(&ch.AccountKeyHash)
		case "ifPasswordHash":
			r.str(&ch.IfPasswordHash)
		case "endSessions":
			ch.EndSessions = r.bool()
		case "keepSession":
			r.str(&ch.KeepSession)
		default:
			r.bad = true
		}
	}
}

func (r *jreader) sessionUpdate(ch *sessionUpdate) {
	if !r.object() {
		return
	}
	for first := true; r.more(&first); {
		switch string(r.key()) {
		case "updatedAt":
			ch.UpdatedAt = new(time.Time)
			r.time(ch.UpdatedAt)
		case "deviceName":
			r.strPtr(&ch.DeviceName)
		case "deviceToken":
			r.strPtr(&ch.DeviceToken)
		default:
			r.bad = true
		}
	}
}
