package httpapi

import (
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"

	"usersapi/users"
)

// Uploads (R-UPL-*) and photos (R-PHO-*).

func handleAddPhoto(svc *users.Service, log *slog.Logger) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, sess users.Session, _ string) {
		var req users.AddPhotoRequest
		if err := decode(r, &req); err != nil {
			writeError(w, r, log, err)
			return
		}
		respond(w, r, log, svc.AddPhoto(r.Context(), sess, req))
	}
}

func handleDeletePhoto(svc *users.Service, log *slog.Logger) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, sess users.Session, _ string) {
		respond(w, r, log, svc.DeletePhoto(r.Context(), sess, r.PathValue("id")))
	}
}

// handleDeleteUpload serves DELETE /uploads/{file}: 200 empty (R-LIM-3).
func handleDeleteUpload(svc *users.Service, log *slog.Logger) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, sess users.Session, _ string) {
		respond(w, r, log, svc.DeleteUpload(r.Context(), sess, r.PathValue("file")))
	}
}

// handleUpload streams the body to the service as it arrives; nothing here buffers it.
// The answer is the bare file name as text (R-UPL-1).
func handleUpload(svc *users.Service, log *slog.Logger) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, sess users.Session, _ string) {
		lengthen(w)          // authenticated: the body may take TransferTimeout to arrive
		var fileName *string // absent and empty differ (R-UPL-1)
		if v := r.Header.Values("File-Name"); len(v) > 1 {
			writeError(w, r, log, users.Errorf(users.ErrInvalid, "The File-Name header must be given at most once."))
			return
		} else if len(v) == 1 {
			fileName = &v[0]
		}
		contentType, once := singleHeader(r.Header, "Content-Type")
		if !once {
			writeError(w, r, log, users.Errorf(users.ErrInvalid, "The Content-Type header must be given at most once."))
			return
		}
		name, err := svc.Upload(r.Context(), sess, fileName, contentType, r.Body)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Content-Length", fmt.Sprint(len(name)))
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, name)
	}
}

// inlineTypes are the only types served for display, as images (R-UPL-2). Everything
// else is a download, so that no upload runs as a page of this origin (html, svg).
var inlineTypes = map[string]string{
	"png":  "image/png",
	"jpg":  "image/jpeg",
	"gif":  "image/gif",
	"webp": "image/webp",
}

// handleGetUpload serves a file or preview to anyone (R-UPL-2), with range and
// conditional requests, GET and HEAD, by http.ServeContent. Its 412 and 416 answers
// become the error object (R-WIRE-4) by way of errorStatusWriter.
func handleGetUpload(svc *users.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lengthen(w) // a file may take TransferTimeout to send
		file := r.PathValue("file")
		f, modTime, err := svc.OpenUpload(r.Context(), file)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		defer f.Close()
		size, err := f.Seek(0, io.SeekEnd)
		if err == nil {
			_, err = f.Seek(0, io.SeekStart)
		}
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		h := w.Header()
		fileSafety(h)
		// A file can be replaced by its owner within the second of Last-Modified.
		h.Set("ETag", fmt.Sprintf(`"%x-%x"`, modTime.UnixNano(), size))
		h.Set("Cache-Control", "no-cache")
		_, fileType, _, _ := users.ParseFileName(file)
		if ct, ok := inlineTypes[fileType]; ok {
			h.Set("Content-Type", ct)
		} else {
			h.Set("Content-Type", "application/octet-stream")
			h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": file}))
		}
		http.ServeContent(&errorStatusWriter{ResponseWriter: w, r: r, log: log}, r, file, modTime, f)
	})
}

// fileSafety sets the headers that keep a served file from running as a page of this
// origin. Every answer of GET /uploads/{file} that found the file carries them, its 412
// and 416 too, and so does a forced 412 or 416 (dev.go).
func fileSafety(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
}

// serveContentErrors are the failure statuses http.ServeContent writes itself: 412 with
// no body, 416 with a line of text. errorStatusWriter answers them as writeError does.
var serveContentErrors = map[int]error{
	http.StatusPreconditionFailed:           &users.Error{Kind: errPreconditionFailed, Reason: "The file does not meet the preconditions of the request."},
	http.StatusRequestedRangeNotSatisfiable: &users.Error{Kind: errRangeNotSatisfiable, Reason: "The range asked for is not within the file."},
}

// errorStatusWriter passes everything to its ResponseWriter except a status of
// serveContentErrors, which it answers with writeError instead, and then drops what
// http.ServeContent writes after it. The file's own headers go: the answer is JSON.
type errorStatusWriter struct {
	http.ResponseWriter
	r        *http.Request
	log      *slog.Logger
	replaced bool
}

func (w *errorStatusWriter) WriteHeader(status int) {
	if w.replaced {
		return
	}
	err, ok := serveContentErrors[status]
	if !ok {
		w.ResponseWriter.WriteHeader(status)
		return
	}
	w.replaced = true
	h := w.Header()
	h.Del("Content-Disposition")
	h.Del("Content-Encoding")
	writeError(w.ResponseWriter, w.r, w.log, err)
}

func (w *errorStatusWriter) Write(p []byte) (int, error) {
	if w.replaced {
		return len(p), nil
	}
	return w.ResponseWriter.Write(p)
}

// ReadFrom keeps the ResponseWriter's own io.ReaderFrom (sendfile) for the file's bytes.
func (w *errorStatusWriter) ReadFrom(src io.Reader) (int64, error) {
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok && !w.replaced {
		return rf.ReadFrom(src)
	}
	return io.Copy(writerOnly{w}, src)
}

// writerOnly hides the ReadFrom of errorStatusWriter from io.Copy.
type writerOnly struct{ io.Writer }

// Unwrap gives http.ResponseController the ResponseWriter.
func (w *errorStatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
