package httpapi_test

import (
	"os"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/custd/custd/internal/customer"
)

// TestMain hashes passwords at bcrypt's lowest cost: logins are still checked against
// real bcrypt hashes, without every test server spending seconds on them under -race.
func TestMain(m *testing.M) {
	customer.PasswordCost = bcrypt.MinCost
	os.Exit(m.Run())
}
