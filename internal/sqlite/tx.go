package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/sqlquery"
)

var _ customer.Tx = (*tx)(nil)

// tx is the writer's current transaction. Statements run with a background context: once
// a write has started it finishes with its batch, whatever happens to its caller.
type tx struct {
	w       *writer
	changed bool // whether the current op has run a statement that changes data
	// read is the customer the current op read and decoded before it was queued, or nil;
	// CustomerForUpdate uses it if its version is still the stored one.
	read *customer.Customer
}

// exec runs a statement that changes data. A statement that fails changes nothing:
// SQLite undoes it whole.
func (t *tx) exec(query string, args ...any) (sql.Result, error) {
	st, err := t.w.stmt(query)
	if err != nil {
		return nil, err
	}
	res, err := st.ExecContext(context.Background(), args...)
	t.changed = t.changed || err == nil
	return res, err
}

// row is a *sql.Row or the error of preparing its statement.
type row struct {
	r   *sql.Row
	err error
}

func (r row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	return r.r.Scan(dest...)
}

// queryRow runs a statement that reads one row. (One that also changes data must mark
// t.changed itself.)
func (t *tx) queryRow(query string, args ...any) row {
	st, err := t.w.stmt(query)
	if err != nil {
		return row{err: err}
	}
	return row{r: st.QueryRowContext(context.Background(), args...)}
}

// query runs a statement that reads rows.
func (t *tx) query(query string, args ...any) (*sql.Rows, error) {
	st, err := t.w.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(context.Background(), args...)
}

// CustomerForUpdate reads a customer; the single writer needs no row lock.
func (t *tx) CustomerForUpdate(_ context.Context, client int64, id int32) (*customer.Customer, error) {
	if c := t.read; c != nil && c.ID == id && c.ClientID == client {
		// Every write of a customer raises its version, so an unchanged version means
		// an unchanged customer, and the writer need not read and decode it again.
		t.read = nil
		var version int64
		err := t.queryRow(`SELECT version FROM customers WHERE client_id = ? AND customer_id = ?`, client, id).Scan(&version)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, customer.Errorf(customer.NotFound, "customer %d not found", id)
		}
		if err != nil {
			return nil, err
		}
		if version == c.Version {
			return c, nil
		}
	}
	c, err := sqlquery.ScanCustomer(t.queryRow(sqlquery.SelectCustomer+` WHERE c.client_id = ? AND c.customer_id = ?`, client, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, customer.Errorf(customer.NotFound, "customer %d not found", id)
	}
	return c, err
}

// ParentOf returns a customer's is_parent and parent.
func (t *tx) ParentOf(_ context.Context, client int64, id int32) (bool, *int32, error) {
	var (
		isParent bool
		parent   sql.NullInt32
	)
	err := t.queryRow(`SELECT is_parent, parent_customer_id FROM customers WHERE client_id = ? AND customer_id = ?`, client, id).Scan(&isParent, &parent)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil, customer.Errorf(customer.NotFound, "customer %d not found", id)
	}
	if err != nil || !parent.Valid {
		return isParent, nil, err
	}
	return isParent, &parent.Int32, nil
}

// HasChildren reports whether a customer is anyone's parent.
func (t *tx) HasChildren(_ context.Context, client int64, id int32) (bool, error) {
	var n int
	err := t.queryRow(`SELECT count(*) FROM (SELECT 1 FROM customers WHERE client_id = ? AND parent_customer_id = ? LIMIT 1)`, client, id).Scan(&n)
	return n > 0, err
}

// OwnerOf returns the customer holding a unique value, or 0.
func (t *tx) OwnerOf(_ context.Context, client int64, field customer.UniqueField, value string) (int32, error) {
	var id int32
	err := t.queryRow(`SELECT customer_id FROM customers WHERE client_id = ? AND `+string(field)+` = ?`, client, value).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, err
}

// addressBlock is how many address ids the writer takes from the sequence at once.
const addressBlock = 1000

// NextAddressID returns a new address id. The writer takes ids from the sequence a
// block at a time: besides saving a statement per address, an UPDATE … RETURNING would
// open a statement journal, and with it make FTS5 write out its pending changes.
func (t *tx) NextAddressID(context.Context) (int32, error) {
	a := &t.w.addresses
	if a.next == a.end {
		if _, err := t.exec(`UPDATE sequences SET value = value + ? WHERE name = 'address_id'`, addressBlock); err != nil {
			return 0, err
		}
		var last int32
		if err := t.queryRow(`SELECT value FROM sequences WHERE name = 'address_id'`).Scan(&last); err != nil {
			return 0, err
		}
		a.next, a.end = last-addressBlock+1, last+1
	}
	a.next++
	return a.next - 1, nil
}

// UseAddressID makes sure NextAddressID never returns id. An id inside the writer's
// block moves the block's start past it; an id beyond it takes a new block that starts
// after both the id and every block taken so far (by any process). An id below the block
// is in a block taken before: this writer gives it to no one again, though another
// process holding that block might (see docs/decisions.md).
func (t *tx) UseAddressID(_ context.Context, id int32) error {
	a := &t.w.addresses
	switch {
	case id < a.next:
	case id < a.end:
		a.next = id + 1
	default:
		if _, err := t.exec(`UPDATE sequences SET value = max(value, ?) + ? WHERE name = 'address_id'`, id, addressBlock); err != nil {
			return err
		}
		var last int32
		if err := t.queryRow(`SELECT value FROM sequences WHERE name = 'address_id'`).Scan(&last); err != nil {
			return err
		}
		a.next, a.end = last-addressBlock+1, last+1
	}
	return nil
}

// UseCustomerID takes an id an imported record carries. NextCustomerID gives the largest
// id plus one, so it never returns an id in use; only another client's customer with the
// same id can refuse it.
func (t *tx) UseCustomerID(_ context.Context, id int32) error {
	var n int
	if err := t.queryRow(`SELECT count(*) FROM customers WHERE customer_id = ?`, id).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return customer.TakenCustomerID(id)
	}
	return nil
}

// NextCustomerID returns the next customer id. The single writer makes max+1 safe, and ids
// of rolled-back writes were never seen by anyone.
func (t *tx) NextCustomerID(context.Context) (id int32, err error) {
	err = t.queryRow(`SELECT coalesce(max(customer_id), 0) + 1 FROM customers`).Scan(&id)
	return id, err
}

// InsertCustomer stores a new customer and its first version.
func (t *tx) InsertCustomer(_ context.Context, c *customer.Customer, doc []byte, v *customer.Version) error {
	values := columnValues(c)
	_, err := t.exec(insertCustomer, append(values, doc, c.ClientID, c.ID)...)
	if err != nil {
		return uniqueConflict(err)
	}
	for _, idx := range textIndexes {
		if _, err := t.exec(idx.insert, c.ID, values[idx.column]); err != nil {
			return err
		}
	}
	return t.recordVersion(v)
}

var insertCustomer = `INSERT INTO customers (` + strings.Join(customerColumns, ", ") + `, doc, client_id, customer_id)
	VALUES (` + strings.Repeat("?, ", len(customerColumns)) + `?, ?, ?)`

// textIndexes are the trigram indexes, each over one of customerColumns. FTS5 keeps no
// copy of the text, so removing a row's entries takes the text it was indexed with.
var textIndexes = []struct {
	column         int // in customerColumns
	insert, remove string
}{
	{slices.Index(customerColumns, "name_fold"), `INSERT INTO customer_names (rowid, name_fold) VALUES (?, ?)`,
		`INSERT INTO customer_names (customer_names, rowid, name_fold) VALUES ('delete', ?, ?)`},
	{slices.Index(customerColumns, "email_fold"), `INSERT INTO customer_emails (rowid, email_fold) VALUES (?, ?)`,
		`INSERT INTO customer_emails (customer_emails, rowid, email_fold) VALUES ('delete', ?, ?)`},
}

// UpdateCustomer stores a new version of a customer. It sets only the columns whose
// values changed: SQLite rewrites the entries of every index on a column an UPDATE sets,
// changed or not, and a customer has many indexes. It adds the version to the history.
func (t *tx) UpdateCustomer(_ context.Context, cur, next *customer.Customer, doc []byte, v *customer.Version) error {
	var set strings.Builder
	set.WriteString("UPDATE customers SET doc = ?")
	args := []any{doc}
	old, now := columnValues(cur), columnValues(next)
	for i, col := range customerColumns {
		if now[i] != old[i] {
			set.WriteString(", " + col + " = ?")
			args = append(args, now[i])
		}
	}
	set.WriteString(" WHERE client_id = ? AND customer_id = ?")
	if _, err := t.exec(set.String(), append(args, next.ClientID, next.ID)...); err != nil {
		return uniqueConflict(err)
	}
	for _, idx := range textIndexes {
		if old[idx.column] == now[idx.column] {
			continue
		}
		if _, err := t.exec(idx.remove, next.ID, old[idx.column]); err != nil {
			return err
		}
		if _, err := t.exec(idx.insert, next.ID, now[idx.column]); err != nil {
			return err
		}
	}
	return t.recordVersion(v)
}

// customerColumns are the columns beside doc that hold a customer's values for searches.
var customerColumns = []string{
	"version", "account_number", "registration_code", "parent_customer_id", "agent_id", "secondary_agent_id",
	"sold_by", "created_by", "bill_profile_id", "status", "is_parent", "suspended", "created_date",
	"updated_date", "activated_date", "close_date", "name_fold", "email_fold",
}

// columnValues returns the values of customerColumns for c, each nil or a comparable
// value (int64, string or bool), so that two versions can be compared column by column.
func columnValues(c *customer.Customer) []any {
	text := c.SearchText()
	return []any{
		c.Version, sqlquery.NullIfEmpty(c.AccountNumber), sqlquery.NullIfEmpty(c.RegistrationCode), id(c.ParentCustomerID), id(c.AgentID),
		id(c.SecondaryAgentID), id(c.SoldBy), int64(c.CreatedBy), id(c.Finance.BillProfileID), string(c.Status),
		c.IsParent, c.Suspended, c.CreatedDate.UnixMilli(), c.UpdatedDate.UnixMilli(), millis(c.ActivatedDate),
		millis(c.CloseDate), text.Company + "\n" + text.Person, text.Email,
	}
}

func id(v *int32) any {
	if v == nil {
		return nil
	}
	return int64(*v)
}

func millis(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

// uniqueConflict turns a unique-index violation into the Conflict that Apply's own check
// would have reported.
func uniqueConflict(err error) error {
	if !isConstraint(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE) {
		return err
	}
	field := customer.UniqueAccountNumber
	if strings.Contains(err.Error(), "registration_code") {
		field = customer.UniqueRegistrationCode
	}
	return customer.Errorf(customer.Conflict, "%s is already used by another customer", field)
}

// recordVersion adds a version to the history. Its event_id is the next rowid: the single
// writer commits versions in the order it numbers them, so the feed never gains an event
// below one a reader has seen.
func (t *tx) recordVersion(v *customer.Version) error {
	_, err := t.exec(`INSERT INTO customer_versions (client_id, customer_id, version, operation, event_type, changed_date,
		user_id, username, request_id, idempotency_key, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		v.ClientID, v.CustomerID, v.Version, string(v.Operation), string(v.EventType), v.ChangedDate.UnixMilli(),
		v.UserID, v.Username, sqlquery.NullIfZero(v.RequestID), sqlquery.NullIfZero(v.IdempotencyKey), v.Document)
	return err
}

// CompleteIdempotent stores the response of a claimed key.
func (t *tx) CompleteIdempotent(_ context.Context, k *customer.IdempotencyKey, r *customer.Reply) error {
	_, err := t.exec(`UPDATE idempotency_keys SET status = ?, etag = ?, location = ?, body = ? WHERE user_id = ? AND key = ?`,
		r.Status, r.ETag, r.Location, r.Body, k.User, k.Key)
	return err
}
