package httpapi

import (
	"net/http"

	"usersapi/users"
)

// router is what addRoutes registers on: an *http.ServeMux, or a list for Routes.
type router interface {
	Handle(pattern string, h http.Handler)
}

// addRoutes lists the whole API surface, in the order of the endpoints of docs/api.md.
func addRoutes(mux router, svc *users.Service, o Options) {
	log := o.Logger
	mux.Handle("POST /users", handleRegister(svc, log, o.TrustedProxy))                          // §1 R-REG-1
	mux.Handle("POST /users/login", basic(log, handleLogin(svc, log, o.TrustedProxy)))           // §2 R-LOG-1, Basic
	mux.Handle("GET /users/me", withToken(log, handleMe(svc, log)))                              // §3 R-ME-1
	mux.Handle("POST /users/me/logout", bearer(svc, log, handleLogout(svc, log)))                // §4 R-OUT-1
	mux.Handle("PUT /users/me/changePassword", bearer(svc, log, handleChangePassword(svc, log))) // §5 R-PW-1
	mux.Handle("PUT /users/me/setAccountKey", bearer(svc, log, handleSetAccountKey(svc, log)))   // §6 R-KEY-1
	mux.Handle("PUT /users/resetPassword", handleResetPassword(svc, log))                        // §7 R-RST-1
	mux.Handle("POST /users/resetPassword", handleResetPassword(svc, log))                       // §7, the original server's method
	mux.Handle("PUT /users/me", bearer(svc, log, handleUpdateUser(svc, log)))                    // §8 R-UPD-1
	mux.Handle("PUT /users/me/device", bearer(svc, log, handleUpdateDevice(svc, log)))           // §9 R-DEV-1
	mux.Handle("GET /users/{id}", handleGetUser(svc, log))                                       // §10 R-GET-1
	mux.Handle("GET /users/{$}", handleSearch(svc, log))                                         // §11 R-SRCH-1
	mux.Handle("GET /users", handleSearch(svc, log))                                             // §11, R-WIRE-1
	mux.Handle("POST /users/me/photos", bearer(svc, log, handleAddPhoto(svc, log)))              // §12 R-PHO-1
	mux.Handle("DELETE /users/me/photos/{id}", bearer(svc, log, handleDeletePhoto(svc, log)))    // §13 R-PHO-2
	mux.Handle("DELETE /users/me", basic(log, handleDeregister(svc, log)))                       // §14 R-DEL-1, Basic
	mux.Handle("POST /uploads", bearer(svc, log, handleUpload(svc, log)))                        // Files, R-UPL-1
	mux.Handle("GET /uploads/{file}", handleGetUpload(svc, log))                                 // Files, R-UPL-2 (and HEAD)
	mux.Handle("DELETE /uploads/{file}", bearer(svc, log, handleDeleteUpload(svc, log)))         // Files, R-LIM-3
	mux.Handle("GET /healthz", handleHealth(svc, log, o.Dev != nil))                             // for load balancers and scripts
}

// Routes returns the pattern of every route the server registers, in order, such as
// "POST /users": the surface docs and tests compare themselves against.
func Routes() []string {
	var l routeList
	addRoutes(&l, nil, Options{})
	return l
}

type routeList []string

func (l *routeList) Handle(pattern string, _ http.Handler) { *l = append(*l, pattern) }
