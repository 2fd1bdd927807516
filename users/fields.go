package users

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The field rules of docs/rules.md (R-FLD-*). Each check returns an ErrInvalid *Error
// whose reason names the field, so a client developer sees at once what to fix.

// Limits of the fields, in Unicode code points (R-WIRE-10).
const (
	NameMax        = 64
	UsernameMin    = 5
	UsernameMax    = 25
	PasswordMin    = 8
	PasswordMax    = 128
	AboutMax       = 500
	AccountKeyMin  = 25
	AccountKeyMax  = 100
	DeviceNameMax  = 64
	DeviceModelMax = 64
	DeviceTokenMax = 4096
	SearchMin      = 2
	SearchMax      = 64
)

// invalid is shorthand for the many 400 answers below.
func invalid(format string, args ...any) error { return Errorf(ErrInvalid, format, args...) }

// hasControl reports whether s holds a character of Unicode category Cc (R-WIRE-10).
func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) {
			return true
		}
	}
	return false
}

// checkText applies the common rule of free text fields: valid UTF-8, min..max code
// points, no control characters.
func checkText(field, s string, min, max int) error {
	if !utf8.ValidString(s) {
		return invalid("%s must be valid UTF-8.", field)
	}
	if n := utf8.RuneCountInString(s); n < min || n > max {
		if min == 0 {
			return invalid("%s must be at most %d characters long.", field, max)
		}
		return invalid("%s must be %d to %d characters long.", field, min, max)
	}
	if hasControl(s) {
		return invalid("%s must not contain control characters.", field)
	}
	return nil
}

// NormalizeName trims a display name and checks R-FLD-1.
func NormalizeName(s string) (string, error) {
	s = strings.TrimSpace(s)
	return s, checkText("name", s, 1, NameMax)
}

// NormalizeAbout trims an about text and checks R-FLD-4: only its length counts, so
// an about may span lines and hold tabs.
func NormalizeAbout(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		return s, invalid("about must be valid UTF-8.")
	}
	if utf8.RuneCountInString(s) > AboutMax {
		return s, invalid("about must be at most %d characters long.", AboutMax)
	}
	return s, nil
}

// NormalizeUsername trims and ASCII-lower-cases a username and checks R-FLD-2. Only
// A-Z change: a non-ASCII character is refused, so the Kelvin sign never becomes k.
func NormalizeUsername(s string) (string, error) {
	s = strings.TrimSpace(s)
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	s = string(b)
	if len(s) < UsernameMin || len(s) > UsernameMax || s[0] < 'a' || s[0] > 'z' {
		return s, invalid("username must be %d to %d letters and digits, starting with a letter.", UsernameMin, UsernameMax)
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return s, invalid("username must be %d to %d letters and digits, starting with a letter.", UsernameMin, UsernameMax)
		}
	}
	return s, nil
}

// CheckPassword checks a password field against R-FLD-3: taken exactly as sent,
// 8..128 code points, no control characters. field names it in the reason. When
// username is not empty the password must also differ from it, case-insensitively.
func CheckPassword(field, password, username string) error {
	if err := checkText(field, password, PasswordMin, PasswordMax); err != nil {
		return err
	}
	if username != "" && strings.EqualFold(password, username) {
		return invalid("%s must not be the username.", field)
	}
	return nil
}

// CheckAccountKey checks R-FLD-5: 25..100 code points, taken exactly, no control characters.
func CheckAccountKey(key string) error {
	return checkText("accountKey", key, AccountKeyMin, AccountKeyMax)
}

// Transports a DeviceInfo may name (R-OBJ-5).
var transports = map[string]bool{"none": true, "apns": true, "fcm": true, "web": true}

// NormalizeDevice checks and normalizes a DeviceInfo sent by a client (R-OBJ-5).
func NormalizeDevice(d DeviceInfo) (DeviceInfo, error) {
	id, err := NormalizeUUID("deviceInfo.id", d.ID)
	if err != nil {
		return d, err
	}
	d.ID = id
	d.Name = strings.TrimSpace(d.Name)
	d.Model = strings.TrimSpace(d.Model)
	if err := checkText("deviceInfo.name", d.Name, 0, DeviceNameMax); err != nil {
		return d, err
	}
	if err := checkText("deviceInfo.model", d.Model, 0, DeviceModelMax); err != nil {
		return d, err
	}
	if err := checkText("deviceInfo.token", d.Token, 0, DeviceTokenMax); err != nil {
		return d, err
	}
	if d.Transport == "" {
		d.Transport = "none"
	}
	if !transports[d.Transport] {
		return d, invalid("deviceInfo.transport must be one of none, apns, fcm, web.")
	}
	return d, nil
}

// NormalizeSearch trims a search string, checks R-SRCH-1 and lower-cases it.
func NormalizeSearch(s string) (string, error) {
	s = strings.TrimSpace(s)
	if err := checkText("s", s, SearchMin, SearchMax); err != nil {
		return "", err
	}
	return strings.ToLower(s), nil
}

// ParseUserID parses the <id> of GET /users/<id> (R-GET-1): a positive decimal
// integer that fits in int64, digits only.
func ParseUserID(s string) (int64, error) {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, invalid("The user id must be a positive integer.")
		}
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, invalid("The user id must be a positive integer.")
	}
	return id, nil
}

// NormalizeUUID accepts a UUID in canonical form in any case and returns it in lower
// case (R-WIRE-9). field names it in the reason.
func NormalizeUUID(field, s string) (string, error) {
	if !IsUUID(s) {
		return "", invalid("%s must be a UUID.", field)
	}
	return strings.ToLower(s), nil
}

// IsUUID reports whether s is a UUID in canonical 8-4-4-4-12 hex form, in any case.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// NewUUID returns a random (version 4) UUID in lower case.
func NewUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
