package users

import (
	"context"
	"errors"
	"io"
	"mime"
	"strings"
	"time"
)

// Uploads and photos: R-UPL-*, R-LIM-* and R-PHO-* of docs/rules.md.
//
// An upload has a record in the Store (who owns the name, its type, size and preview
// size) and bytes in Files. The Store is the one that decides who owns a name; Files
// trusts the Service. So that a file on disk is never replaced by someone who does
// not own its name, every change that pairs a record with files (the commit of an
// upload, adding and deleting a photo, deregistration) runs under s.uploadLock, and
// ownership is checked again under that lock just before the files are renamed. The
// lock is a Locker shared by every server on the same Store and Files, so that no
// server can rename a file in between another's check and rename.

// Limits and names of uploads (R-UPL-1, R-UPL-3, R-LIM-2). Previews do not count
// towards the quota: they are at most 350x350.
const (
	FileNameMax        = 64         // characters of a File-Name
	FileTypeMax        = 16         // characters of an extension
	DefaultMaxUpload   = 50 << 20   // bytes of one upload unless configured
	DefaultUploadQuota = 200 << 20  // bytes of one user's uploads together unless configured (R-LIM-2)
	PreviewSuffix      = "-preview" // ends the name of a preview, and of no upload
)

// ParseFileName splits the name of a stored file, "<name>.<type>" or
// "<name>-preview.<type>", into its parts. ok is false for anything else, so that no
// name that could reach outside the uploads folder ("..", "/", "\", NUL, an absolute
// path, another encoding of them) is ever taken for a file (R-UPL-2).
func ParseFileName(file string) (name, fileType string, preview bool, ok bool) {
	dot := strings.LastIndexByte(file, '.')
	if dot < 0 {
		return "", "", false, false
	}
	name, fileType = file[:dot], file[dot+1:]
	if !validFileType(fileType) {
		return "", "", false, false
	}
	if base, found := strings.CutSuffix(name, PreviewSuffix); found {
		name, preview = base, true
	}
	if !validUploadName(name) {
		return "", "", false, false
	}
	return name, fileType, preview, true
}

// FileNames returns the names of the file of an upload and of its preview.
func FileNames(name, fileType string) (file, preview string) {
	return name + "." + fileType, name + PreviewSuffix + "." + fileType
}

// validUploadName reports whether name is 1..64 of A-Z a-z 0-9 _ - and does not end in
// -preview, in any case (R-UPL-1).
func validUploadName(name string) bool {
	if len(name) == 0 || len(name) > FileNameMax {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return !strings.HasSuffix(strings.ToLower(name), PreviewSuffix)
}

// validFileType reports whether t is 1..16 of a-z 0-9: an extension as stored.
func validFileType(t string) bool {
	if len(t) == 0 || len(t) > FileTypeMax {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// NormalizeFileName applies R-UPL-1 to the File-Name header: nil (absent) gets a new
// UUID, a UUID is lower-cased, anything else, the empty string too, must be 1..64 of
// A-Z a-z 0-9 _ - not ending in -preview.
func NormalizeFileName(header *string) (string, error) {
	if header == nil {
		return NewUUID(), nil
	}
	name := *header
	switch {
	case IsUUID(name):
		return strings.ToLower(name), nil
	case strings.HasSuffix(strings.ToLower(name), PreviewSuffix):
		return "", invalid("File-Name must not end in %q, which names previews.", PreviewSuffix)
	case !validUploadName(name):
		return "", invalid("File-Name must be 1 to %d characters of A-Z, a-z, 0-9, '_' and '-'.", FileNameMax)
	}
	return name, nil
}

// subtypeExtensions maps the media subtypes whose extension differs from the subtype.
var subtypeExtensions = map[string]string{
	"jpeg":         "jpg",
	"svg+xml":      "svg",
	"quicktime":    "mov",
	"plain":        "txt",
	"octet-stream": "bin",
}

// FileTypeOf applies R-UPL-1 to the Content-Type header of an upload and returns the
// file's extension: a bare extension of 1..16 ASCII letters and digits, lower-cased,
// or the extension a media type of a known top-level type stands for.
func FileTypeOf(contentType string) (string, error) {
	if contentType == "" {
		return "", invalid("Content-Type is required: a file extension such as png, or a media type such as image/png.")
	}
	if !strings.Contains(contentType, "/") {
		// Lower-case only A-Z: strings.ToLower would make the Kelvin sign a "k".
		t := []byte(contentType)
		for i, c := range t {
			if c >= 'A' && c <= 'Z' {
				t[i] = c + ('a' - 'A')
			}
		}
		if !validFileType(string(t)) {
			return "", invalid("Content-Type as an extension must be 1 to %d ASCII letters and digits.", FileTypeMax)
		}
		return string(t), nil
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", invalid("Content-Type is not a valid media type.")
	}
	top, sub, _ := strings.Cut(mt, "/") // ParseMediaType lower-cases
	switch top {
	case "image", "video", "audio", "text", "application":
	default:
		return "", invalid("Content-Type must be of type image, video, audio, text or application.")
	}
	if ext, ok := subtypeExtensions[sub]; ok {
		return ext, nil
	}
	if !validFileType(sub) {
		return "", invalid("Content-Type %s has no file extension this server knows.", mt)
	}
	return sub, nil
}

// hasPreview reports whether uploads of the type get a preview (R-UPL-3).
func hasPreview(fileType string) bool {
	return fileType == "png" || fileType == "jpg" || fileType == "gif"
}

var (
	errNoFiles      = Errorf(ErrNotFound, "This server does not keep files.")
	errNameTaken    = Errorf(ErrConflict, "The file name is taken by another user's file.")
	errNameInUse    = Errorf(ErrConflict, "The file is in use as a photo and cannot be replaced.")
	errFileNotFound = Errorf(ErrNotFound, "No file has this name.")
	errUploadTooBig = Errorf(ErrTooLarge, "The upload is larger than this server accepts.")
)

// errQuota is the 413 of an upload that would take the user's uploads past the quota
// (R-LIM-2).
func (s *Service) errQuota() error {
	return Errorf(ErrTooLarge, "The upload would take your uploads past your quota of %d bytes; delete some first.", s.uploadQuota)
}

// quotaLeft returns how many bytes the user may still upload as the file name, whose
// current size, if it is the user's, is given back by a replacement.
func (s *Service) quotaLeft(ctx context.Context, userID int64, name string) (int64, error) {
	used, err := s.store.UploadBytes(ctx, userID)
	if err != nil {
		return 0, err
	}
	if cur, err := s.store.Upload(ctx, name); err == nil && cur.OwnerID == userID {
		used -= cur.Size
	} else if err != nil && !errors.Is(err, ErrNotFound) {
		return 0, err
	}
	return s.uploadQuota - used, nil
}

// Upload stores body as the caller's file (R-UPL-1) and returns its bare name.
// fileName is the File-Name header (nil when absent), contentType the Content-Type.
//
// The name is checked before the body is read, so that a taken name costs no upload,
// and again under s.uploadLock right before the file is renamed into place. The body is
// streamed to a temporary file of at most the configured size; png, jpg and gif
// uploads get a preview when they decode (R-UPL-3).
func (s *Service) Upload(ctx context.Context, sess Session, fileName *string, contentType string, body io.Reader) (string, error) {
	if s.files == nil {
		return "", errNoFiles
	}
	name, err := NormalizeFileName(fileName)
	if err != nil {
		return "", err
	}
	fileType, err := FileTypeOf(contentType)
	if err != nil {
		return "", err
	}
	if err := s.checkUploadName(ctx, sess.UserID, name); err != nil {
		return "", err
	}

	// The body is cut off as soon as it passes the quota left, as it is at the cap.
	left, err := s.quotaLeft(ctx, sess.UserID, name)
	if err != nil {
		return "", err
	}
	if left < 0 {
		left = 0
	}
	staged, err := s.files.Stage(ctx, body, min(s.maxUpload, left))
	if errors.Is(err, ErrTooLarge) {
		if left < s.maxUpload {
			return "", s.errQuota()
		}
		return "", errUploadTooBig
	}
	if err != nil {
		return "", err
	}
	defer staged.Discard()
	var preview StagedFile
	var pw, ph int
	if s.previewer != nil && hasPreview(fileType) {
		preview, pw, ph = s.makePreview(ctx, staged, fileType)
		if preview != nil {
			defer preview.Discard()
		}
	}

	up := Upload{Name: name, Type: fileType, OwnerID: sess.UserID, Size: staged.Size(), PreviewWidth: pw, PreviewHeight: ph, CreatedAt: s.now()}
	if err := s.commitUpload(ctx, up, staged, preview); err != nil {
		return "", err
	}
	return name, nil
}

// checkUploadName returns a 409 if the name is another user's, or the caller's file
// in use as a photo. A user that is gone is 401, like a token that stopped working.
func (s *Service) checkUploadName(ctx context.Context, userID int64, name string) error {
	cur, err := s.store.Upload(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if cur.OwnerID != userID {
		return errNameTaken
	}
	u, err := s.store.User(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return errBadToken
	}
	if err != nil {
		return err
	}
	for _, p := range u.Photos {
		if p.ID == name {
			return errNameInUse
		}
	}
	return nil
}

// makePreview writes the preview of the staged image to a staged file of its own. An
// upload that does not decode simply has no preview (R-UPL-3), so every failure here
// gives nil.
func (s *Service) makePreview(ctx context.Context, staged StagedFile, fileType string) (StagedFile, int, int) {
	src, err := staged.Open()
	if err != nil {
		return nil, 0, 0
	}
	defer src.Close()
	pr, pw := io.Pipe()
	type size struct{ w, h int }
	done := make(chan size, 1)
	go func() {
		w, h, err := s.previewer.Preview(src, fileType, pw)
		pw.CloseWithError(err)
		done <- size{w, h}
	}()
	// A preview fits in 350x350, so the upload limit is far more than enough.
	preview, err := s.files.Stage(ctx, pr, s.maxUpload)
	pr.CloseWithError(errors.New("preview abandoned")) // unblock the writer on failure
	sz := <-done
	if err != nil || sz.w <= 0 || sz.h <= 0 {
		if preview != nil {
			preview.Discard()
		}
		return nil, 0, 0
	}
	return preview, sz.w, sz.h
}

// commitUpload gives the staged files their final names and stores the record, as one
// step against every other upload, photo change and deregistration.
func (s *Service) commitUpload(ctx context.Context, up Upload, staged, preview StagedFile) error {
	unlock, err := s.uploadLock.Lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	// Once files start to move, a client that hangs up must not leave the pair torn.
	ctx = context.WithoutCancel(ctx)
	// The name may have been taken, or the file made a photo, while the body streamed.
	if err := s.checkUploadName(ctx, up.OwnerID, up.Name); err != nil {
		return err
	}
	// Other uploads of the user may have been stored while the body streamed.
	left, err := s.quotaLeft(ctx, up.OwnerID, up.Name)
	if err != nil {
		return err
	}
	if up.Size > left {
		return s.errQuota()
	}
	file, previewFile := FileNames(up.Name, up.Type)
	if err := staged.Commit(file); err != nil {
		return err
	}
	if preview != nil {
		if err := preview.Commit(previewFile); err != nil {
			_ = s.files.Remove(file)
			return err
		}
	} else {
		_ = s.files.Remove(previewFile) // a replaced image's preview must not outlive it
	}
	replaced, err := s.store.PutUpload(ctx, up)
	if err != nil {
		// Only the owner's files are ever renamed here, and the owner (or its record)
		// is gone: the bytes must not stay behind without a record.
		_ = s.files.Remove(file, previewFile)
		switch {
		case errors.Is(err, ErrNotFound):
			return errBadToken
		case errors.Is(err, ErrConflict):
			return errNameInUse
		}
		return err
	}
	if replaced != nil && replaced.Type != up.Type {
		_ = s.removeUploadFiles([]Upload{*replaced})
	}
	return nil
}

// OpenUpload opens the file "<name>.<type>" or "<name>-preview.<type>" for reading
// (R-UPL-2). Anything that is not the name of a stored file, including every attempt
// to reach outside the uploads folder, is ErrNotFound.
func (s *Service) OpenUpload(ctx context.Context, file string) (io.ReadSeekCloser, time.Time, error) {
	if s.files == nil {
		return nil, time.Time{}, errFileNotFound
	}
	name, fileType, preview, ok := ParseFileName(file)
	if !ok {
		return nil, time.Time{}, errFileNotFound
	}
	if IsUUID(name) { // accepted in any case, stored in lower case (R-WIRE-9)
		name = strings.ToLower(name)
	}
	up, err := s.store.Upload(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return nil, time.Time{}, errFileNotFound
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	if up.Type != fileType || preview && up.PreviewWidth == 0 {
		return nil, time.Time{}, errFileNotFound
	}
	file, previewFile := FileNames(name, fileType)
	if preview {
		file = previewFile
	}
	f, mod, err := s.files.Open(file)
	if errors.Is(err, ErrNotFound) {
		return nil, time.Time{}, errFileNotFound
	}
	return f, mod, err
}

// DeleteUpload removes the caller's file "<name>.<type>" and its preview (R-LIM-3). A
// file that is not the caller's, or not there, is ErrNotFound, so that nobody learns
// which names others hold; a file in use as a photo is ErrConflict.
func (s *Service) DeleteUpload(ctx context.Context, sess Session, file string) error {
	if s.files == nil {
		return errFileNotFound
	}
	name, fileType, preview, ok := ParseFileName(file)
	if !ok || preview {
		return errFileNotFound
	}
	if IsUUID(name) { // accepted in any case, stored in lower case (R-WIRE-9)
		name = strings.ToLower(name)
	}
	unlock, err := s.uploadLock.Lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	up, err := s.store.Upload(ctx, name)
	if errors.Is(err, ErrNotFound) || err == nil && (up.OwnerID != sess.UserID || up.Type != fileType) {
		return errFileNotFound
	}
	if err != nil {
		return err
	}
	up, err = s.store.DeleteUpload(ctx, sess.UserID, name)
	switch {
	case errors.Is(err, ErrNotFound):
		return errFileNotFound
	case errors.Is(err, ErrConflict):
		return Errorf(ErrConflict, "The file is in use as a photo; delete the photo instead.")
	case err != nil:
		return err
	}
	_ = s.removeUploadFiles([]Upload{up}) // the record is gone; leftover bytes are unreachable
	return nil
}

// AddPhotoRequest is the body of POST /users/me/photos (R-PHO-1).
type AddPhotoRequest struct {
	Photo *NewPhoto `json:"photo"`
}

// NewPhoto names the upload to make a photo of, and says its size (R-PHO-1).
type NewPhoto struct {
	ID       *string `json:"id"`       // the upload's name, a UUID
	FileType *string `json:"fileType"` // the upload's extension
	FileSize *int64  `json:"fileSize"` // the upload's size in bytes
}

// AddPhoto makes the caller's upload "<id>.<fileType>" a photo, at the head of the
// user's photos (R-PHO-1).
func (s *Service) AddPhoto(ctx context.Context, sess Session, req AddPhotoRequest) error {
	p, err := required("photo", req.Photo)
	if err != nil {
		return err
	}
	id, err := required("photo.id", p.ID)
	if err != nil {
		return err
	}
	fileType, err := required("photo.fileType", p.FileType)
	if err != nil {
		return err
	}
	fileSize, err := required("photo.fileSize", p.FileSize)
	if err != nil {
		return err
	}
	if id, err = NormalizeUUID("photo.id", id); err != nil {
		return err
	}
	if ft := strings.ToLower(fileType); validFileType(ft) {
		fileType = ft
	} else {
		return invalid("photo.fileType must be 1 to %d ASCII letters and digits.", FileTypeMax)
	}
	if fileSize < 0 {
		return invalid("photo.fileSize must not be negative.")
	}
	if s.files == nil {
		return errNoPhotoFile
	}

	unlock, err := s.uploadLock.Lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	up, err := s.store.Upload(ctx, id)
	if errors.Is(err, ErrNotFound) || err == nil && (up.OwnerID != sess.UserID || up.Type != fileType) {
		return errNoPhotoFile
	}
	if err != nil {
		return err
	}
	if up.Size != fileSize {
		return invalid("photo.fileSize does not match the size of the uploaded file (%d bytes).", up.Size)
	}
	photo := Photo{ID: up.Name, FileType: up.Type, FileSize: up.Size, PreviewWidth: up.PreviewWidth, PreviewHeight: up.PreviewHeight, CreatedAt: s.now()}
	err = s.store.AddPhoto(ctx, sess.UserID, photo, MaxPhotos)
	switch {
	case errors.Is(err, ErrNotFound):
		return errNoPhotoFile
	case errors.Is(err, ErrConflict):
		return Errorf(ErrConflict, "This file is already a photo.")
	case errors.Is(err, ErrInvalid):
		return invalid("A user has at most %d photos.", MaxPhotos)
	}
	return err
}

var errNoPhotoFile = Errorf(ErrNotFound, "You have not uploaded a file of this id and type.")

// DeletePhoto removes the caller's photo with the id, and its file and preview
// (R-PHO-2).
func (s *Service) DeletePhoto(ctx context.Context, sess Session, id string) error {
	id, err := NormalizeUUID("The photo id", id)
	if err != nil {
		return err
	}
	unlock, err := s.uploadLock.Lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	up, err := s.store.DeletePhoto(ctx, sess.UserID, id)
	if errors.Is(err, ErrNotFound) {
		return Errorf(ErrNotFound, "You have no photo with this id.")
	}
	if err != nil {
		return err
	}
	_ = s.removeUploadFiles([]Upload{up}) // the record is gone; leftover bytes are unreachable
	return nil
}
