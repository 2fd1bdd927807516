package throttletest_test

import (
	"testing"

	"usersapi/users"
	"usersapi/users/throttletest"
)

func TestMemoryThrottle(t *testing.T) {
	throttletest.Run(t, func(t *testing.T) users.Throttle {
		return users.NewMemoryThrottle(users.MaxFailures, users.FailureWindow, 1000)
	}, users.MaxFailures, users.FailureWindow, false)
}
