package httpapi

import (
	"net/http"

	"usersapi/users"
)

// addRoutes lists the whole API surface, in the order of users-api.txt.
func addRoutes(mux *http.ServeMux, svc *users.Service, o Options) {
	log := o.Logger
	mux.Handle("POST /users", handleRegister(svc, log, o.TrustedProxy))                          // §1 R-REG-1
	mux.Handle("POST /users/login", basic(log, handleLogin(svc, log, o.TrustedProxy)))           // §2 R-LOG-1, Basic
	mux.Handle("GET /users/me", bearer(svc, log, handleMe(svc, log)))                            // §3 R-ME-1
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
	mux.Handle("DELETE /users/me", basic(log, handleDeregister(svc, log)))                       // §14 R-DEL-1, Basic
	mux.Handle("GET /healthz", handleHealth())                                                   // for load balancers and scripts
}
