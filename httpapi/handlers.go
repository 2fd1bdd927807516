package httpapi

import (
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"usersapi/users"
)

// Each handler decodes the request, calls the service once, and writes what it got
// back. The service decides every outcome.

func handleRegister(svc *users.Service, log *slog.Logger, trustedProxy bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req users.RegisterRequest
		if err := decode(r, &req); err != nil {
			writeError(w, r, log, err)
			return
		}
		info, err := svc.Register(r.Context(), req, clientIP(r, trustedProxy))
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		writeJSON(w, http.StatusOK, info)
	})
}

func handleLogin(svc *users.Service, log *slog.Logger, trustedProxy bool) func(http.ResponseWriter, *http.Request, users.Credentials) {
	return func(w http.ResponseWriter, r *http.Request, c users.Credentials) {
		readBody := func() (req users.LoginRequest, err error) {
			return req, decode(r, &req)
		}
		info, err := svc.Login(r.Context(), c, readBody, clientIP(r, trustedProxy))
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		writeJSON(w, http.StatusOK, info)
	}
}

func handleMe(svc *users.Service, log *slog.Logger) func(http.ResponseWriter, *http.Request, string) {
	return func(w http.ResponseWriter, r *http.Request, token string) {
		info, err := svc.MeByToken(r.Context(), token)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		writeJSON(w, http.StatusOK, info)
	}
}

func handleLogout(svc *users.Service, log *slog.Logger) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, sess users.Session, _ string) {
		respond(w, r, log, svc.Logout(r.Context(), sess))
	}
}

func handleChangePassword(svc *users.Service, log *slog.Logger) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, sess users.Session, _ string) {
		var req users.ChangePasswordRequest
		if err := decode(r, &req); err != nil {
			writeError(w, r, log, err)
			return
		}
		respond(w, r, log, svc.ChangePassword(r.Context(), sess, req))
	}
}

func handleSetAccountKey(svc *users.Service, log *slog.Logger) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, sess users.Session, _ string) {
		var req users.SetAccountKeyRequest
		if err := decode(r, &req); err != nil {
			writeError(w, r, log, err)
			return
		}
		respond(w, r, log, svc.SetAccountKey(r.Context(), sess, req))
	}
}

func handleResetPassword(svc *users.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req users.ResetPasswordRequest
		if err := decode(r, &req); err != nil {
			writeError(w, r, log, err)
			return
		}
		respond(w, r, log, svc.ResetPassword(r.Context(), req))
	})
}

func handleUpdateUser(svc *users.Service, log *slog.Logger) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, sess users.Session, _ string) {
		var req users.UpdateUserRequest
		if err := decode(r, &req); err != nil {
			writeError(w, r, log, err)
			return
		}
		respond(w, r, log, svc.UpdateUser(r.Context(), sess, req))
	}
}

func handleUpdateDevice(svc *users.Service, log *slog.Logger) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, sess users.Session, _ string) {
		var req users.UpdateDeviceRequest
		if err := decode(r, &req); err != nil {
			writeError(w, r, log, err)
			return
		}
		respond(w, r, log, svc.UpdateDevice(r.Context(), sess, req))
	}
}

func handleGetUser(svc *users.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if allow, ok := fixedUserPaths()[r.PathValue("id")]; ok {
			// GET /users/login is no lookup of a user called "login": the path is a
			// route of its own, which does not allow GET (R-WIRE-5).
			w.Header().Set("Allow", allow)
			writeError(w, r, log, &users.Error{Kind: errMethodNotAllowed, Reason: "This route does not allow the method " + r.Method + "."})
			return
		}
		id, err := users.ParseUserID(r.PathValue("id"))
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		info, err := svc.User(r.Context(), id)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		writeJSON(w, http.StatusOK, info)
	})
}

func handleSearch(svc *users.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		found, err := svc.Search(r.Context(), r.URL.Query().Get("s"))
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		writeJSON(w, http.StatusOK, found)
	})
}

func handleDeregister(svc *users.Service, log *slog.Logger) func(http.ResponseWriter, *http.Request, users.Credentials) {
	return func(w http.ResponseWriter, r *http.Request, c users.Credentials) {
		respond(w, r, log, svc.Deregister(r.Context(), c))
	}
}

// handleHealth answers {"status": "ok"}, with "mode": "dev" in the test mode (dev.go).
func handleHealth(svc *users.Service, log *slog.Logger, dev bool) http.Handler {
	answer := map[string]string{"status": "ok"}
	if dev {
		answer["mode"] = "dev"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := svc.Health(); err != nil {
			writeError(w, r, log, err) // 503 with Retry-After: the store cannot write
			return
		}
		writeJSON(w, http.StatusOK, answer)
	})
}

// respond answers "OK" (R-WIRE-3) when err is nil, else the error.
func respond(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	if err != nil {
		writeError(w, r, log, err)
		return
	}
	writeOK(w)
}

// fixedUserPaths maps each name X of a route /users/X without GET (login,
// resetPassword) to the methods it allows, as an Allow header value. GET /users/{id}
// would otherwise take it for a user id and answer 400. It is made from Routes once,
// on first use (addRoutes, which Routes calls, builds handleGetUser).
func fixedUserPaths() map[string]string {
	fixedPaths.once.Do(func() { fixedPaths.allow = makeFixedUserPaths() })
	return fixedPaths.allow
}

var fixedPaths struct {
	once  sync.Once
	allow map[string]string
}

func makeFixedUserPaths() map[string]string {
	methods := map[string][]string{}
	hasGet := map[string]bool{}
	for _, route := range Routes() {
		method, path, _ := strings.Cut(route, " ")
		name, ok := strings.CutPrefix(path, "/users/")
		if !ok || name == "" || strings.ContainsAny(name, "/{") {
			continue
		}
		methods[name] = append(methods[name], method)
		if method == http.MethodGet {
			hasGet[name] = true
		}
	}
	fixed := map[string]string{}
	for name, list := range methods {
		if !hasGet[name] {
			fixed[name] = strings.Join(list, ", ")
		}
	}
	return fixed
}
