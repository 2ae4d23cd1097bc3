package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/sqlquery"
)

var _ customer.Tx = (*tx)(nil)

// tx is one write transaction, as customer.Apply uses it.
//
// Apply's checks read other rows, and under READ COMMITTED another transaction may change
// those rows before this one commits; the locks taken here keep each check true until
// commit:
//
//   - CustomerForUpdate locks the customer being written FOR UPDATE, so writes to one
//     customer run one after the other and each sees the version the last one committed:
//     the If-Match check and the new version are computed from the row as it is.
//   - ParentOf locks the parent (and each ancestor of the cycle walk) FOR SHARE, which
//     conflicts with FOR UPDATE. "is_parent cannot become false while children point at
//     it" then holds against a concurrent un-parenting, whichever transaction locks first:
//     if the child's transaction locked the parent first, the un-parenting one waits in
//     CustomerForUpdate until the child commits, and its HasChildren, a later statement
//     with a later snapshot, sees the child; if the un-parenting one locked first, ParentOf
//     waits until it commits and then reads the parent's new row (PostgreSQL re-reads a
//     locked row that changed), whose is_parent is false, and the child is refused. Two
//     customers made each other's parent at once deadlock on these locks instead of both
//     passing the cycle check; PostgreSQL aborts one, whose retry finds the cycle.
//   - Unique values are checked by OwnerOf without a lock: two transactions can both find
//     a value free, and then the unique index refuses the second insert or update, which
//     is retried (see Store.inTx) and fails on OwnerOf's check like a serial write would.
type tx struct{ t pgx.Tx }

// CustomerForUpdate returns a customer and locks its row. Errors: NotFound.
func (t *tx) CustomerForUpdate(ctx context.Context, client int64, id int32) (*customer.Customer, error) {
	c, err := sqlquery.ScanCustomer(t.t.QueryRow(ctx, sqlquery.SelectCustomer+` WHERE c.client_id = $1 AND c.customer_id = $2 FOR UPDATE`, client, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound(id)
	}
	return c, err
}

// ParentOf returns a customer's is_parent and parent, and share-locks its row so that its
// is_parent cannot change until commit. Errors: NotFound.
func (t *tx) ParentOf(ctx context.Context, client int64, id int32) (bool, *int32, error) {
	var (
		isParent bool
		parent   *int32
	)
	err := t.t.QueryRow(ctx, `SELECT is_parent, parent_customer_id FROM customers WHERE client_id = $1 AND customer_id = $2 FOR SHARE`,
		client, id).Scan(&isParent, &parent)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil, notFound(id)
	}
	return isParent, parent, err
}

// HasChildren reports whether any customer of the client names id as its parent.
func (t *tx) HasChildren(ctx context.Context, client int64, id int32) (bool, error) {
	var has bool
	err := t.t.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM customers WHERE client_id = $1 AND parent_customer_id = $2)`, client, id).Scan(&has)
	return has, err
}

// OwnerOf returns the customer holding a unique value, or 0.
func (t *tx) OwnerOf(ctx context.Context, client int64, field customer.UniqueField, value string) (int32, error) {
	if field != customer.UniqueAccountNumber && field != customer.UniqueRegistrationCode {
		return 0, fmt.Errorf("OwnerOf: unknown unique field %q", field)
	}
	if !storable(value) {
		return 0, nil // no stored value has it; InsertCustomer or UpdateCustomer refuses it
	}
	var id int32
	err := t.t.QueryRow(ctx, `SELECT customer_id FROM customers WHERE client_id = $1 AND `+string(field)+` = $2`, client, value).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return id, err
}

// NextAddressID returns a new address id from its sequence.
func (t *tx) NextAddressID(ctx context.Context) (int32, error) {
	var id int32
	err := t.t.QueryRow(ctx, `SELECT nextval('address_ids')::integer`).Scan(&id)
	return id, err
}

// NextCustomerID takes the next customer id from the sequence.
func (t *tx) NextCustomerID(ctx context.Context) (id int32, err error) {
	err = t.t.QueryRow(ctx, `SELECT nextval('customer_ids')::integer`).Scan(&id)
	return id, err
}

// UseCustomerID takes an id an imported record carries, and moves the sequence past it
// so that no later create is given it. Errors: Conflict when another client's customer
// has it.
//
// Two transactions may take one id at once: the primary key then refuses the second
// insert, and Store.inTx runs its write again, which finds the first one's customer.
func (t *tx) UseCustomerID(ctx context.Context, id int32) error {
	// One round trip: the sequence moves past a taken id too, which costs only that id.
	var taken bool
	err := t.t.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM customers WHERE customer_id = $1), (`+advanceSQL("customer_ids")+`) IS NULL`,
		id).Scan(&taken, new(bool))
	if err != nil {
		return err
	}
	if taken {
		return customer.TakenCustomerID(id)
	}
	return nil
}

// UseAddressID moves the address id sequence past an id an imported record carries.
func (t *tx) UseAddressID(ctx context.Context, id int32) error {
	_, err := t.t.Exec(ctx, advanceSQL("address_ids"), id)
	return err
}

// advanceSQL makes the sequence's next value larger than $1, unless it is already. A
// sequence is not transactional: the move stays even if the transaction rolls back, which
// costs only unused ids. A create running at that very moment may still be given the id
// (it read the sequence before the move); for customer ids the primary key refuses it and
// the create runs again, for address ids, which no index holds, the two share an id.
func advanceSQL(sequence string) string {
	return `SELECT setval('` + sequence + `', $1) FROM ` + sequence + `
		WHERE $1 > CASE WHEN is_called THEN last_value ELSE last_value - 1 END`
}

// InsertCustomer stores a new customer and its first version, in one statement. Errors:
// Conflict.
func (t *tx) InsertCustomer(ctx context.Context, c *customer.Customer, doc []byte, v *customer.Version) error {
	_, err := t.t.Exec(ctx, withVersion(23)+`INSERT INTO customers (version, account_number, registration_code, parent_customer_id,
		agent_id, secondary_agent_id, sold_by, created_by, bill_profile_id, status, is_parent, suspended,
		created_date, updated_date, activated_date, close_date, company_fold, person_fold, email_fold, doc,
		client_id, customer_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)`,
		append(append(customerColumns(c, doc), c.ClientID, c.ID), versionColumns(v)...)...)
	return uniqueConflict(err)
}

// UpdateCustomer stores a new version of a customer and adds it to the history, in one
// statement. Every column is written: a PostgreSQL update writes a new row version with
// new entries in every index anyway, since updated_date, which always changes, is
// indexed. Errors: Conflict.
func (t *tx) UpdateCustomer(ctx context.Context, _, c *customer.Customer, doc []byte, v *customer.Version) error {
	_, err := t.t.Exec(ctx, withVersion(23)+`UPDATE customers SET version = $1, account_number = $2, registration_code = $3, parent_customer_id = $4,
		agent_id = $5, secondary_agent_id = $6, sold_by = $7, created_by = $8, bill_profile_id = $9, status = $10, is_parent = $11,
		suspended = $12, created_date = $13, updated_date = $14, activated_date = $15, close_date = $16, company_fold = $17,
		person_fold = $18, email_fold = $19, doc = $20 WHERE client_id = $21 AND customer_id = $22`,
		append(append(customerColumns(c, doc), c.ClientID, c.ID), versionColumns(v)...)...)
	return uniqueConflict(err)
}

// customerColumns returns the column values of c, from version to doc, in table order.
// The document is the same bytes the SQLite store keeps. (Text with a NUL character, which
// a text column cannot hold, never gets here: customer validation refuses it.)
func customerColumns(c *customer.Customer, doc []byte) []any {
	text := c.SearchText()
	return []any{
		c.Version, sqlquery.NullIfEmpty(c.AccountNumber), sqlquery.NullIfEmpty(c.RegistrationCode), c.ParentCustomerID,
		c.AgentID, c.SecondaryAgentID, c.SoldBy, c.CreatedBy, c.Finance.BillProfileID, string(c.Status), c.IsParent,
		c.Suspended, millis(c.CreatedDate), millis(c.UpdatedDate), optMillis(c.ActivatedDate), optMillis(c.CloseDate),
		text.Company, text.Person, text.Email, doc,
	}
}

// withVersion returns the WITH clause that adds a version to the history, its parameters
// (versionColumns) numbered from n, for the statement that stores the customer: one round
// trip for both. The version's customer_events row has no event_id: the sequencer numbers
// it once it has committed (see sequencer.go). The version as stored goes to
// customer_version_data, which is written once and never updated. A failure of any part
// fails the statement.
func withVersion(n int) string {
	p := func(i int) string { return "$" + strconv.Itoa(n+i) }
	return `WITH version_event AS (INSERT INTO customer_events (customer_id, version, client_id, changed_date)
			VALUES (` + p(0) + `, ` + p(1) + `, ` + p(2) + `, ` + p(3) + `)),
		version_data AS (INSERT INTO customer_version_data (customer_id, version, operation, event_type, user_id, username,
			request_id, idempotency_key, doc) VALUES (` + p(0) + `, ` + p(1) + `, ` + p(4) + `, ` + p(5) + `, ` + p(6) + `, ` +
		p(7) + `, ` + p(8) + `, ` + p(9) + `, ` + p(10) + `))
		`
}

// versionColumns returns the parameters of withVersion.
func versionColumns(v *customer.Version) []any {
	return []any{v.CustomerID, v.Version, v.ClientID, millis(v.ChangedDate), string(v.Operation), string(v.EventType),
		v.UserID, v.Username, sqlquery.NullIfZero(v.RequestID), sqlquery.NullIfZero(v.IdempotencyKey), v.Document}
}

// optMillis is millis of an optional time. The columns hold what SQLite's integer columns
// hold (the time cut to the millisecond) even when the document keeps a finer time.
func optMillis(t *time.Time) any {
	if t == nil {
		return nil
	}
	return millis(*t)
}

// uniqueConflict turns a unique-index violation into a Conflict naming the field, with
// SQLite's message. Store.inTx first retries the transaction, whose Apply then usually
// reports the value's owner instead.
func uniqueConflict(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != uniqueViolation {
		return err
	}
	field := customer.UniqueAccountNumber
	if strings.Contains(pe.ConstraintName, "registration_code") {
		field = customer.UniqueRegistrationCode
	}
	return &customer.Error{Kind: customer.Conflict, Message: fmt.Sprintf("%s is already used by another customer", field), Err: err}
}

// CompleteIdempotent records the response of a claimed key in this transaction, so that
// it is stored if and only if the write is.
func (t *tx) CompleteIdempotent(ctx context.Context, k *customer.IdempotencyKey, r *customer.Reply) error {
	return completeIdempotent(ctx, t.t, k, r)
}

func completeIdempotent(ctx context.Context, q querier, k *customer.IdempotencyKey, r *customer.Reply) error {
	_, err := q.Exec(ctx, `UPDATE idempotency_keys SET status = $1, etag = $2, location = $3, body = $4 WHERE user_id = $5 AND key = $6`,
		r.Status, r.ETag, r.Location, r.Body, k.User, k.Key)
	return err
}
