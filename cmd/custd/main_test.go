package main

import (
	"os"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/custd/custd/internal/customer"
)

// TestMain hashes passwords at bcrypt's lowest cost: logins are still checked against
// real bcrypt hashes, without every test spending seconds on them under -race. Started
// with CUSTD_TEST_BE_MAIN=1, the test binary is custd itself, so that tests can run
// custd as separate processes.
func TestMain(m *testing.M) {
	customer.PasswordCost = bcrypt.MinCost
	if os.Getenv(beMain) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}
