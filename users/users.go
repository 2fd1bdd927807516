// Package users is the heart of the Users API: the domain types, the field rules, the
// error values, and the Service that carries out every operation of the API.
//
// It declares the small interfaces it needs (Store, Hasher, Files, Previewer) and is
// given implementations of them by cmd/usersd. It must never import another package
// of this module, nor net/http: HTTP is httpapi's business, disks are storage's.
package users

import "time"

// User is one account as the store keeps it, secrets included. It never leaves the
// service as is: answers are built as UserInfo.
type User struct {
	ID             int64     `json:"id"`
	Name           string    `json:"name"`
	Username       string    `json:"username"` // normalized, see R-FLD-2
	About          string    `json:"about"`
	PasswordHash   string    `json:"passwordHash"`             // auth's self-describing string
	AccountKeyHash string    `json:"accountKeyHash,omitempty"` // "" when no key was set
	CreatedAt      time.Time `json:"createdAt"`
	Photos         []Photo   `json:"photos,omitempty"` // oldest first, as added
}

// Session is one logged-in device of a user (R-SES-*). Only the SHA-256 of its
// access token is kept (R-SEC-2).
type Session struct {
	ID        string     `json:"id"` // UUID made by the server
	UserID    int64      `json:"userId"`
	TokenHash string     `json:"tokenHash"` // hex SHA-256 of the access token
	IPAddress string     `json:"ipAddress"`
	CreatedAt time.Time  `json:"createdAt"`
	UpdatedAt time.Time  `json:"updatedAt"` // last authenticated use, see R-SES-1
	Device    DeviceInfo `json:"deviceInfo"`
}

// DeviceInfo describes the client device of a session (R-OBJ-5).
type DeviceInfo struct {
	ID        string `json:"id"`    // UUID made by the client
	Name      string `json:"name"`  // 0..64, trimmed
	Model     string `json:"model"` // 0..64, trimmed
	Token     string `json:"token"` // push token, 0..4096
	Transport string `json:"transport"`
}

// Photo is a profile photo: an upload of the user's, shown as a MediaInfo (R-OBJ-6).
type Photo struct {
	ID            string    `json:"id"` // the upload's name, a lower-case UUID
	FileType      string    `json:"fileType"`
	FileSize      int64     `json:"fileSize"`
	PreviewWidth  int       `json:"previewWidth,omitempty"`
	PreviewHeight int       `json:"previewHeight,omitempty"`
	CreatedAt     time.Time `json:"createdAt"`
}

// Upload is the record of one uploaded file (R-UPL-1): who owns it and what it is.
// Its bytes live in Files as Name.Type, its preview (if any) as Name-preview.Type.
type Upload struct {
	Name          string    `json:"name"` // unique across types
	Type          string    `json:"type"` // the extension, e.g. "png"
	OwnerID       int64     `json:"ownerId"`
	Size          int64     `json:"size"`
	PreviewWidth  int       `json:"previewWidth,omitempty"` // 0 when there is no preview
	PreviewHeight int       `json:"previewHeight,omitempty"`
	CreatedAt     time.Time `json:"createdAt"`
}

// UserInfo is the API's user object (R-OBJ-1). Public answers leave DeviceSessions nil.
type UserInfo struct {
	ID             int64           `json:"id"`
	Name           string          `json:"name"`
	Username       string          `json:"username"`
	About          string          `json:"about"`
	LastSeen       *time.Time      `json:"lastSeen,omitempty"`
	CreatedAt      time.Time       `json:"createdAt"`
	Photos         []MediaInfo     `json:"photos"`
	DeviceSessions []DeviceSession `json:"deviceSessions,omitempty"`
}

// DeviceSession is the API's session object (R-OBJ-4). AccessToken is set only on the
// session the answer is for (R-OBJ-3).
type DeviceSession struct {
	ID          string     `json:"id"`
	AccessToken string     `json:"accessToken,omitempty"`
	IPAddress   string     `json:"ipAddress"`
	CreatedAt   time.Time  `json:"createdAt"`
	UpdatedAt   time.Time  `json:"updatedAt"`
	DeviceInfo  DeviceInfo `json:"deviceInfo"`
}

// MediaInfo is the API's photo object (R-OBJ-6).
type MediaInfo struct {
	ID            string    `json:"id"`
	FileType      string    `json:"fileType"`
	FileSize      int64     `json:"fileSize"`
	PreviewWidth  int       `json:"previewWidth,omitempty"`
	PreviewHeight int       `json:"previewHeight,omitempty"`
	CreatedAt     time.Time `json:"createdAt"`
}
