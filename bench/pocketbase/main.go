// Command pocketbase runs PocketBase as a library with a "customers" collection
// equivalent to custd's Customer resource, so that the benchmark can drive both
// with the same records and the same request bodies.
//
// It takes PocketBase's own command line (serve --http ADDR --dir DATA_DIR ...)
// plus --bench-email and --bench-password: on serve it ensures the collection
// and a user of the "users" auth collection with those credentials, whose
// token the benchmark sends on every request.
//
// PocketBase is left on its default SQLite settings. In v0.36 core/db_connect.go
// opens every connection with busy_timeout(10000), journal_mode(WAL),
// journal_size_limit(200000000), synchronous(NORMAL), foreign_keys(ON),
// temp_store(MEMORY) and cache_size(-32000): with synchronous=NORMAL in WAL mode a
// commit is not fsynced, so a power loss can lose the last commits. custd's
// SQLite store runs synchronous=FULL; the disk figures of each run show what
// that difference costs. PocketBase's request log (written to auxiliary.db)
// also stays on, as a user would have it, unless --bench-request-log=off: PocketBase at
// its fastest, its logs' retention set to 0 days, which stops writing them.
//
// This module takes modernc.org/sqlite at the version custd uses, with the libc
// that version names, so that both servers run the same SQLite build; PocketBase
// says at start that it was tested with an older one.
package main

import (
	"errors"
	"fmt"
	"log"

	"github.com/pocketbase/pocketbase"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

func main() {
	// pocketbase.New would turn on dev mode (every SQL statement logged) for a
	// binary under the temporary folder, where the benchmark builds it.
	app := pocketbase.NewWithConfig(pocketbase.Config{DefaultDev: false})

	var email, password, requestLog string
	flags := app.RootCmd.PersistentFlags()
	flags.StringVar(&email, "bench-email", "bench@example.com", "email of the user the benchmark authenticates as")
	flags.StringVar(&password, "bench-password", "", "password of that user (required)")
	flags.StringVar(&requestLog, "bench-request-log", "on", "on (PocketBase's default) or off: no request log")

	app.OnServe().BindFunc(func(e *core.ServeEvent) error {
		// The installer would try to open a browser to create a superuser;
		// the benchmark needs none.
		e.InstallerFunc = nil
		if err := ensureCustomers(e.App); err != nil {
			return fmt.Errorf("customers collection: %w", err)
		}
		if err := ensureUser(e.App, email, password); err != nil {
			return fmt.Errorf("bench user: %w", err)
		}
		if err := setRequestLog(e.App, requestLog); err != nil {
			return fmt.Errorf("--bench-request-log: %w", err)
		}
		return e.Next()
	})

	if err := app.Start(); err != nil {
		log.Fatal(err)
	}
}

// setRequestLog keeps PocketBase's request log (on) or stops it (off): logs kept for 0
// days are not written at all.
func setRequestLog(app core.App, mode string) error {
	switch mode {
	case "on":
		return nil
	case "off":
		s := app.Settings()
		if s.Logs.MaxDays == 0 {
			return nil
		}
		s.Logs.MaxDays = 0
		return app.Save(s)
	}
	return fmt.Errorf("must be on or off, not %q", mode)
}

// ensureCustomers creates the customers collection when it does not exist.
//
// custd's top-level scalars become PocketBase fields of the same kind; the
// nested parts (addresses, auto_debit, finance, profile, custom fields) are
// JSON fields, which is how a PocketBase user would keep them without a
// collection per part. PocketBase's own id, created and updated fields stand for
// customer_id, created_date and updated_date. created_by has no counterpart:
// PocketBase would need a hook to set it from the caller.
func ensureCustomers(app core.App) error {
	if _, err := app.FindCollectionByNameOrId("customers"); err == nil {
		return nil
	}

	c := core.NewBaseCollection("customers")
	authenticated := types.Pointer("@request.auth.id != ''")
	c.ListRule = authenticated
	c.ViewRule = authenticated
	c.CreateRule = authenticated
	c.UpdateRule = authenticated
	// DeleteRule stays nil: only superusers may delete, as custd never erases.

	one := 1.0
	int32Max := 2147483647.0
	id := func(name string) *core.NumberField {
		return &core.NumberField{Name: name, OnlyInt: true, Min: &one, Max: &int32Max}
	}
	c.Fields.Add(
		&core.JSONField{Name: "billing_address"},
		&core.JSONField{Name: "service_address"},
		&core.JSONField{Name: "listing_address"},
		&core.TextField{Name: "account_number", Max: 25},
		&core.DateField{Name: "activated_date"},
		id("agent_id"),
		id("secondary_agent_id"),
		&core.DateField{Name: "close_date"},
		// custd accepts several comma-separated addresses, which EmailField does not.
		&core.TextField{Name: "email", Max: 255},
		&core.BoolField{Name: "is_parent"},
		// The same alphabet and length as the codes custd generates.
		&core.TextField{Name: "registration_code", Max: 20, AutogeneratePattern: `[A-HJ-NP-Z2-9]{12}`},
		&core.TextField{Name: "security_pin", Max: 50},
		id("sold_by"),
		&core.TextField{Name: "source", Max: 50},
		&core.SelectField{Name: "status", Values: []string{"OPEN", "PENDING", "PROSPECT", "CLOSED"}, MaxSelect: 1, Required: true},
		&core.JSONField{Name: "auto_debit"},
		&core.JSONField{Name: "finance"},
		&core.JSONField{Name: "profile"},
		&core.JSONField{Name: "fields"},
		&core.BoolField{Name: "suspended"},
		&core.DateField{Name: "suspended_date"},
		&core.TextField{Name: "culture", Max: 35},
		&core.BoolField{Name: "close_on_no_active_services"},
		&core.AutodateField{Name: "created", OnCreate: true},
		&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
	)
	if err := app.Save(c); err != nil {
		return err
	}

	// The parent relation points at the collection itself, so it needs the
	// collection's id and is added after the first save.
	c.Fields.Add(&core.RelationField{Name: "parent_customer_id", CollectionId: c.Id, MaxSelect: 1})

	// Indexes where custd searches, and the uniqueness custd enforces.
	c.AddIndex("idx_customers_account_number", true, "account_number", "account_number != ''")
	c.AddIndex("idx_customers_registration_code", true, "registration_code", "registration_code != ''")
	c.AddIndex("idx_customers_status", false, "status", "")
	c.AddIndex("idx_customers_email", false, "email", "")
	c.AddIndex("idx_customers_created", false, "created", "")
	return app.Save(c)
}

// ensureUser creates the benchmark's user in the default "users" auth
// collection, or sets its password when it has another one. An unchanged
// password is left alone: setting it would invalidate the tokens issued before.
func ensureUser(app core.App, email, password string) error {
	if password == "" {
		return errors.New("--bench-password is required")
	}
	user, err := app.FindAuthRecordByEmail("users", email)
	if err == nil && user.ValidatePassword(password) {
		return nil
	}
	if err != nil {
		users, err := app.FindCollectionByNameOrId("users")
		if err != nil {
			return err
		}
		user = core.NewRecord(users)
		user.SetEmail(email)
		user.SetVerified(true)
	}
	user.SetPassword(password)
	return app.Save(user)
}
