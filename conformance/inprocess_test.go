package conformance_test

// This is the one file of the suite that reaches the server's code: without
// USERS_BASE_URL, TestMain starts the server in-process (see internal/inprocess).

import (
	"fmt"
	"os"

	"usersapi/conformance/internal/inprocess"
)

func init() {
	inProcessQuota = inprocess.UploadQuota
	startInProcess = func() (string, int64, func()) {
		s, err := inprocess.Start()
		if err != nil {
			fmt.Fprintln(os.Stderr, "starting the in-process server:", err)
			os.Exit(2)
		}
		return s.URL, s.MaxUpload, s.Close
	}
}
